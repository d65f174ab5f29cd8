/*
 * Navigation properties: key(id).nav(name).create and query, with and without the leading underscore, the linked entities, and deleting them.
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

        // The keeper (the one side of 1:N) stays while animals are linked to
        // it; an animal (the many side) is deleted with its link.
        t.fails(409, "delete the keeper of linked animals", function () { od.entitySet("Keeper").del(id); });
        od.entitySet("Animal").del("dog");
        od.entitySet("Animal").del("cat");
        t.eq(od.entitySet("Keeper").key(id).nav("Animal").query().run().d.results.length, 0, "no animals left");
        od.entitySet("Keeper").del(id);
        t.fails(404, "the keeper is gone", function () { od.entitySet("Keeper").retrieve(id); });
    } catch (e) {
        t.unexpected(e);
    }
    return t.response();
}
