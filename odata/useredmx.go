package odata

import (
	"bytes"
	"context"
	"io"
	"sort"
)

// WriteUserMetadata writes GET {od}$metadata: the EDMX of the user schema
// held by p (namespace and container UserData; open entity types keyed
// by __id; declared properties in name order; complex types),
// associations of linked AssociationEnds with their navigation
// properties), as Personium's CtlSchema.getEdmDataServicesForUserData
// shapes it.
func WriteUserMetadata(ctx context.Context, p *DocProvider, w io.Writer) error {
	all := func(set string) ([]*Entity, error) {
		ents, _, err := p.List(ctx, p.Schema.Type(set), &ListRequest{Limit: -1})
		sort.Slice(ents, func(i, j int) bool { return str(ents[i].Props["Name"]) < str(ents[j].Props["Name"]) })
		return ents, err
	}
	types, err := all(SetEntityType)
	if err != nil {
		return err
	}
	props, err := all(SetProperty)
	if err != nil {
		return err
	}
	cts, err := all(SetComplexType)
	if err != nil {
		return err
	}
	ctps, err := all(SetComplexTypeProperty)
	if err != nil {
		return err
	}
	assocs, err := userAssociations(ctx, p)
	if err != nil {
		return err
	}
	var b bytes.Buffer
	b.WriteString(`<?xml version="1.0" encoding="utf-8"?>` +
		`<edmx:Edmx Version="1.0" xmlns:edmx="http://schemas.microsoft.com/ado/2007/06/edmx"` +
		` xmlns:d="http://schemas.microsoft.com/ado/2007/08/dataservices"` +
		` xmlns:m="http://schemas.microsoft.com/ado/2007/08/dataservices/metadata" xmlns:p="urn:x-personium:xmlns">` +
		`<edmx:DataServices m:DataServiceVersion="1.0">` +
		`<Schema xmlns="http://schemas.microsoft.com/ado/2006/04/edm" Namespace="UserData">`)
	writeProp := func(e *Entity) {
		b.WriteString("<Property")
		xmlAttr(&b, "Name", str(e.Props["Name"]))
		t := str(e.Props["Type"])
		if !simpleTypes[t] {
			t = "UserData." + t
		}
		xmlAttr(&b, "Type", t)
		xmlAttr(&b, "Nullable", str(e.Props["Nullable"]))
		if e.Props["CollectionKind"] == "List" {
			xmlAttr(&b, "CollectionKind", "List")
		}
		if dv, ok := e.Props["DefaultValue"].(string); ok {
			xmlAttr(&b, "DefaultValue", dv)
		}
		if e.Props["IsDeclared"] == false {
			xmlAttr(&b, "p:IsDeclared", "false")
		}
		b.WriteString("/>")
	}
	for _, ct := range cts {
		b.WriteString("<ComplexType")
		xmlAttr(&b, "Name", str(ct.Props["Name"]))
		b.WriteString(">")
		for _, cp := range ctps {
			if cp.Props[refComplexType] == ct.Props["Name"] {
				writeProp(cp)
			}
		}
		b.WriteString("</ComplexType>")
	}
	for _, t := range types {
		b.WriteString("<EntityType")
		xmlAttr(&b, "Name", str(t.Props["Name"]))
		b.WriteString(` OpenType="true"><Key><PropertyRef Name="__id"/></Key>` +
			`<Property Name="__id" Type="Edm.String" Nullable="false" DefaultValue="UUID()" p:Format="regEx(&apos;^.{1,400}$&apos;)"/>` +
			`<Property Name="__published" Type="Edm.DateTime" Nullable="false" DefaultValue="SYSUTCDATETIME()" Precision="3"/>` +
			`<Property Name="__updated" Type="Edm.DateTime" Nullable="false" DefaultValue="SYSUTCDATETIME()" Precision="3"/>`)
		for _, pr := range props {
			if pr.Props[refEntityType] == t.Props["Name"] {
				writeProp(pr)
			}
		}
		name := str(t.Props["Name"])
		for _, a := range assocs {
			nav := func(to, from, toRole string) {
				b.WriteString("<NavigationProperty")
				xmlAttr(&b, "Name", "_"+to)
				xmlAttr(&b, "Relationship", "UserData."+a.name)
				xmlAttr(&b, "FromRole", from)
				xmlAttr(&b, "ToRole", toRole)
				b.WriteString("/>")
			}
			roleA, roleB := a.typeA+":"+a.endA, a.typeB+":"+a.endB
			switch {
			case a.typeA == name:
				nav(a.typeB, roleA, roleB)
			case a.typeB == name:
				nav(a.typeA, roleB, roleA)
			}
		}
		b.WriteString("</EntityType>")
	}
	for _, a := range assocs {
		b.WriteString("<Association")
		xmlAttr(&b, "Name", a.name)
		b.WriteString(">")
		for _, end := range [][3]string{{a.typeA + ":" + a.endA, a.typeA, a.multA}, {a.typeB + ":" + a.endB, a.typeB, a.multB}} {
			b.WriteString("<End")
			xmlAttr(&b, "Role", end[0])
			xmlAttr(&b, "Type", "UserData."+end[1])
			xmlAttr(&b, "Multiplicity", end[2])
			b.WriteString("/>")
		}
		b.WriteString("</Association>")
	}
	b.WriteString(`<EntityContainer Name="UserData" m:IsDefaultEntityContainer="true">`)
	for _, t := range types {
		b.WriteString("<EntitySet")
		xmlAttr(&b, "Name", str(t.Props["Name"]))
		xmlAttr(&b, "EntityType", "UserData."+str(t.Props["Name"]))
		b.WriteString("/>")
	}
	for _, a := range assocs {
		b.WriteString("<AssociationSet")
		xmlAttr(&b, "Name", a.name)
		xmlAttr(&b, "Association", "UserData."+a.name)
		b.WriteString(">")
		for _, end := range [][2]string{{a.typeA + ":" + a.endA, a.typeA}, {a.typeB + ":" + a.endB, a.typeB}} {
			b.WriteString("<End")
			xmlAttr(&b, "Role", end[0])
			xmlAttr(&b, "EntitySet", end[1])
			b.WriteString("/>")
		}
		b.WriteString("</AssociationSet>")
	}
	b.WriteString(`</EntityContainer></Schema></edmx:DataServices></edmx:Edmx>`)
	_, err = w.Write(b.Bytes())
	return err
}
