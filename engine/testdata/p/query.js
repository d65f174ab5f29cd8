/*
 * Query options on user data: filter, select, top, skip, orderby, inlinecount, q and expand.
 */
function(request) {
    var t = require("testCommon").checker();

    try {
        var box = _p.localbox();
        box.mkOData("q");
        var od = box.odata("q");
        od.schema.entityType.create({Name: "Fruit"});
        var fruits = od.entitySet("Fruit");
        var data = [["apple", 3, "red"], ["banana", 5, "yellow"], ["cherry", 10, "red"], ["grape", 7, "purple"], ["lemon", 2, "yellow"]];
        data.forEach(function (d) {
            fruits.create({__id: d[0], name: d[0], price: d[1], color: d[2]});
        });

        var all = fruits.query().run();
        t.eq(all.d.results.length, 5, "all");
        var red = fruits.query().filter("color eq 'red'").orderby("price desc").run().d.results;
        t.eq(red.map(function (r) { return r.name; }).join(","), "cherry,apple", "filter + orderby desc");
        var cheap = fruits.query().filter("price lt 5 and color ne 'red'").run().d.results;
        t.eq(cheap.length, 1, "and/lt/ne");
        var page = fruits.query().orderby("price").skip(1).top(2).run().d.results;
        t.eq(page.map(function (r) { return r.__id; }).join(","), "apple,banana", "skip + top");
        var counted = fruits.query().filter("startswith(name,'gr') or substringof('mon',name)").inlinecount("allpages").top(1).run();
        t.eq(counted.d.__count, "2", "inlinecount");
        t.eq(counted.d.results.length, 1, "top 1 with count");
        var sel = fruits.query().select("name").filter("name eq 'banana'").run().d.results[0];
        t.eq(sel.name, "banana", "select keeps name");
        t.eq(sel.price, undefined, "select drops price");
        t.eq(sel.__id, "banana", "select keeps __id");
        var found = fruits.query().q("yellow").run().d.results;
        t.eq(found.length, 2, "q full text");

        od.schema.entityType.create({Name: "Shop"});
        var a = od.schema.associationEnd.create({Name: "shop", "_EntityType.Name": "Shop", Multiplicity: "0..1"});
        var b = od.schema.associationEnd.create({Name: "fruit", "_EntityType.Name": "Fruit", Multiplicity: "*"});
        a.associationEnd.link(b);
        od.entitySet("Shop").create({__id: "s1", name: "corner"});
        od.entitySet("Shop").key("s1").nav("Fruit").create({__id: "kiwi", name: "kiwi", price: 4});
        var shops = od.entitySet("Shop").query().expand("_Fruit").run().d.results;
        t.eq(shops.length, 1, "one shop");
        t.eq(shops[0]._Fruit.length, 1, "expanded fruits");
        t.eq(shops[0]._Fruit[0].name, "kiwi", "expanded fruit");
        var one = od.entitySet("Shop").key("s1").query().expand("_Fruit").run().d.results;
        t.eq(one._Fruit[0].__id, "kiwi", "expand on a single entity");

        // A linked fruit (the many side) is deleted with its link, as
        // personium-engine's userDataQueryExpand expects.
        fruits.del("kiwi");
        t.eq(od.entitySet("Shop").key("s1").query().expand("_Fruit").run().d.results._Fruit.length, 0, "no fruit left to expand");
    } catch (e) {
        t.unexpected(e);
    }
    return t.response();
}
