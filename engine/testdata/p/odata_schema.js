/*
 * OData schema through odata().schema: entityType, property, complexType, complexTypeProperty, associationEnd with link/unLink.
 */
function(request) {
    var t = require("testCommon").checker();

    try {
        var box = _p.localbox();
        box.mkOData("db");
        var schema = box.odata("db").schema;
        var person = schema.entityType.create({Name: "Person"});
        t.eq(person.name, "Person", "entity type name");
        schema.entityType.create({Name: "Pet"});
        t.eq(schema.entityType.retrieve("Person").name, "Person", "retrieve entity type");
        t.eq(schema.entityType.query().run().d.results.length, 2, "two entity types");
        t.fails(409, "duplicate entity type", function () { schema.entityType.create({Name: "Pet"}); });

        var age = schema.property.create({Name: "age", "_EntityType.Name": "Person", Type: "Edm.Int32", Nullable: true});
        t.eq(age.name, "age", "property name");
        t.eq(age.entityTypeName, "Person", "property entity type");
        t.eq(age.type, "Edm.Int32", "property type");
        t.eq(age.nullable, true, "nullable");
        t.eq(age.isKey, false, "isKey");
        var nick = schema.property.create({Name: "nick", "_EntityType.Name": "Person", Type: "Edm.String", DefaultValue: "none"});
        t.eq(nick.defaultValue, "none", "string default");
        t.eq(schema.property.retrieve({Name: "nick", "_EntityType.Name": "Person"}).type, "Edm.String", "retrieve property");

        var addr = schema.complexType.create({Name: "Address"});
        t.eq(addr.name, "Address", "complex type");
        var city = schema.complexTypeProperty.create({Name: "city", "_ComplexType.Name": "Address", Type: "Edm.String"});
        t.eq(city.complexTypeName, "Address", "complex type property");
        t.eq(schema.complexTypeProperty.retrieve({Name: "city", "_ComplexType.Name": "Address"}).name, "city", "retrieve ctp");
        t.eq(schema.complexType.retrieve({Name: "Address"}).name, "Address", "retrieve complex type");

        var owner = schema.associationEnd.create({Name: "owner", "_EntityType.Name": "Person", Multiplicity: "0..1"});
        var pets = schema.associationEnd.create({Name: "pets", "_EntityType.Name": "Pet", Multiplicity: "*"});
        t.eq(owner.multiplicity, "0..1", "multiplicity");
        t.eq(pets.entityTypeName, "Pet", "association end entity type");
        owner.associationEnd.link(pets);
        t.eq(schema.associationEnd.retrieve({Name: "pets", "_EntityType.Name": "Pet"}).name, "pets", "retrieve association end");
        owner.associationEnd.unLink(pets);

        schema.associationEnd.del({Name: "owner", "_EntityType.Name": "Person"});
        schema.associationEnd.del({Name: "pets", "_EntityType.Name": "Pet"});
        schema.complexTypeProperty.del({Name: "city", "_ComplexType.Name": "Address"});
        schema.complexType.del({Name: "Address"});
        schema.property.del({Name: "age", "_EntityType.Name": "Person"});
        schema.property.del({Name: "nick", "_EntityType.Name": "Person"});
        schema.entityType.del("Person");
        schema.entityType.del("Pet");
        t.fails(404, "entity type after del", function () { schema.entityType.retrieve("Pet"); });
        box.del("db");
    } catch (e) {
        t.unexpected(e);
    }
    return t.response();
}
