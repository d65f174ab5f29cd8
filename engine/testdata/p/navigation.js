/*
 * Navigation properties: key(id).nav(name).create and query, with and without the leading underscore, and the linked entities.
 */
function(request) {
    var t = require("testCommon").checker();

    try {
        var box = _p.localbox();
        box.mkOData("nav");
        var od = box.odata("nav");
        od.schema.entityType.create({Name: "Keeper"});
        od.schema.entityType.create({Name: "Animal"});
        var k = od.schema.associationEnd.create({Name: "keeper", "_EntityType.Name": "Keeper", Multiplicity: "1"});
        var a = od.schema.associationEnd.create({Name: "animal", "_EntityType.Name": "Animal", Multiplicity: "*"});
        k.associationEnd.link(a);

        var keeper = od.entitySet("Keeper").create({name: "sam"});
        var id = keeper.__id;
        var dog = od.entitySet("Keeper").key(id).nav("Animal").create({__id: "dog", species: "dog"});
        t.eq(dog.__id, "dog", "created through the navigation property");
        od.entitySet("Keeper").key(id).nav("_Animal").create({__id: "cat", species: "cat"});
        var mine = od.entitySet("Keeper").key(id).nav("Animal").query().orderby("species").run().d.results;
        t.eq(mine.map(function (x) { return x.__id; }).join(","), "cat,dog", "listed through the navigation property");
        var back = od.entitySet("Animal").key("dog").nav("Keeper").query().run().d.results;
        t.eq(back.length, 1, "the animal's keeper");
        t.eq(back[0].name, "sam", "keeper's name");
        t.eq(od.entitySet("Animal").retrieve("cat").species, "cat", "the created entity exists on its own");
        t.fails(404, "navigation from a missing entity", function () {
            od.entitySet("Keeper").key("ghost").nav("Animal").create({species: "owl"});
        });

        // Linked user data stays: deleting it answers 409 (links remain), and
        // personium-dao has no $links API for user data. The cell is fresh.
    } catch (e) {
        t.unexpected(e);
    }
    return t.response();
}
