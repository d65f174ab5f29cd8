/*
 * OData schema through odata().schema: entityType, property, complexType, complexTypeProperty, associationEnd with link/unLink.
 */
function(request) {
    var failures = [];
    function eq(got, want, what) {
        if (got !== want) {
            failures.push(what + ": got " + JSON.stringify(got) + ", want " + JSON.stringify(want));
        }
    }
    function fails(code, what, fn) {
        try {
            fn();
            failures.push(what + ": no exception");
        } catch (e) {
            if (!(e instanceof _p.PersoniumException) || e.code !== code) {
                failures.push(what + ": " + e.code + " " + e.message + ", want " + code);
            }
        }
    }

    try {
        var box = _p.localbox();
        box.mkOData("db");
        var schema = box.odata("db").schema;
        var person = schema.entityType.create({Name: "Person"});
        eq(person.name, "Person", "entity type name");
        schema.entityType.create({Name: "Pet"});
        eq(schema.entityType.retrieve("Person").name, "Person", "retrieve entity type");
        eq(schema.entityType.query().run().d.results.length, 2, "two entity types");
        fails(409, "duplicate entity type", function () { schema.entityType.create({Name: "Pet"}); });

        var age = schema.property.create({Name: "age", "_EntityType.Name": "Person", Type: "Edm.Int32", Nullable: true});
        eq(age.name, "age", "property name");
        eq(age.entityTypeName, "Person", "property entity type");
        eq(age.type, "Edm.Int32", "property type");
        eq(age.nullable, true, "nullable");
        eq(age.isKey, false, "isKey");
        var nick = schema.property.create({Name: "nick", "_EntityType.Name": "Person", Type: "Edm.String", DefaultValue: "none"});
        eq(nick.defaultValue, "none", "string default");
        eq(schema.property.retrieve({Name: "nick", "_EntityType.Name": "Person"}).type, "Edm.String", "retrieve property");

        var addr = schema.complexType.create({Name: "Address"});
        eq(addr.name, "Address", "complex type");
        var city = schema.complexTypeProperty.create({Name: "city", "_ComplexType.Name": "Address", Type: "Edm.String"});
        eq(city.complexTypeName, "Address", "complex type property");
        eq(schema.complexTypeProperty.retrieve({Name: "city", "_ComplexType.Name": "Address"}).name, "city", "retrieve ctp");
        eq(schema.complexType.retrieve({Name: "Address"}).name, "Address", "retrieve complex type");

        var owner = schema.associationEnd.create({Name: "owner", "_EntityType.Name": "Person", Multiplicity: "0..1"});
        var pets = schema.associationEnd.create({Name: "pets", "_EntityType.Name": "Pet", Multiplicity: "*"});
        eq(owner.multiplicity, "0..1", "multiplicity");
        eq(pets.entityTypeName, "Pet", "association end entity type");
        owner.associationEnd.link(pets);
        eq(schema.associationEnd.retrieve({Name: "pets", "_EntityType.Name": "Pet"}).name, "pets", "retrieve association end");
        owner.associationEnd.unLink(pets);

        schema.associationEnd.del({Name: "owner", "_EntityType.Name": "Person"});
        schema.associationEnd.del({Name: "pets", "_EntityType.Name": "Pet"});
        schema.complexTypeProperty.del({Name: "city", "_ComplexType.Name": "Address"});
        schema.complexType.del({Name: "Address"});
        schema.property.del({Name: "age", "_EntityType.Name": "Person"});
        schema.property.del({Name: "nick", "_EntityType.Name": "Person"});
        schema.entityType.del("Person");
        schema.entityType.del("Pet");
        fails(404, "entity type after del", function () { schema.entityType.retrieve("Pet"); });
        box.del("db");
    } catch (e) {
        failures.push("unexpected exception: " + (e.code !== undefined ? e.code + " " : "") + e.message);
    }
    if (failures.length > 0) {
        return {status: 500, headers: {"Content-Type": "text/plain"}, body: [failures.join("\n")]};
    }
    return {status: 200, headers: {"Content-Type": "text/plain"}, body: ["OK"]};
}
