package odata

import (
	"bytes"
	"encoding/xml"
	"net/http"
	"sort"
	"strconv"
	"strings"
)

func xmlAttr(b *bytes.Buffer, name, value string) {
	b.WriteByte(' ')
	b.WriteString(name)
	b.WriteString(`="`)
	_ = xml.EscapeText(b, []byte(value))
	b.WriteByte('"')
}

// association is one association derived from a pair of navigation properties.
type association struct {
	name         string
	a, b         *EntityType
	aMult, bMult string
}

// associations derives the schema's associations from its navigation
// properties: Relationship names are "A-B" with A < B.
func (s *Schema) associations() []association {
	seen := map[string]bool{}
	var out []association
	for _, t := range s.Types {
		for _, n := range t.Nav {
			o := s.Type(n.Target)
			if o == nil {
				continue
			}
			a, b := t, o
			an := n
			bn := o.NavProp("_" + t.Name)
			if b.Name < a.Name {
				a, b = b, a
				an, bn = bn, an
			}
			name := a.Name + "-" + b.Name
			if seen[name] {
				continue
			}
			seen[name] = true
			out = append(out, association{name: name, a: a, b: b, aMult: mult(bn), bMult: mult(an)})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].name < out[j].name })
	return out
}

// mult is the multiplicity of the end n leads to.
func mult(n *NavProp) string {
	if n == nil || n.Many {
		return "*"
	}
	return "0..1"
}

// writeEDMXProp writes one Property element; a complex type is named
// within the schema's namespace.
func writeEDMXProp(b *bytes.Buffer, ns string, p *Property) {
	b.WriteString("<Property")
	xmlAttr(b, "Name", p.Name)
	typ := p.Type
	if p.Complex != nil {
		typ = ns + "." + typ
	}
	xmlAttr(b, "Type", typ)
	xmlAttr(b, "Nullable", strconv.FormatBool(p.Nullable))
	if p.Default != nil {
		xmlAttr(b, "DefaultValue", literalText(p.Default))
	}
	if p.List {
		xmlAttr(b, "CollectionKind", "List")
	}
	b.WriteString("/>")
}

// EDMX renders the schema as an EDMX (CSDL) document.
func (s *Schema) EDMX() []byte {
	var b bytes.Buffer
	ns := s.Namespace
	b.WriteString(`<?xml version="1.0" encoding="utf-8" standalone="yes"?>` + "\n")
	b.WriteString(`<edmx:Edmx Version="1.0" xmlns:edmx="http://schemas.microsoft.com/ado/2007/06/edmx" xmlns:d="http://schemas.microsoft.com/ado/2007/08/dataservices" xmlns:m="http://schemas.microsoft.com/ado/2007/08/dataservices/metadata" xmlns:p="urn:x-personium:xmlns">`)
	b.WriteString(`<edmx:DataServices m:DataServiceVersion="1.0">`)
	b.WriteString(`<Schema xmlns="http://schemas.microsoft.com/ado/2006/04/edm"`)
	xmlAttr(&b, "Namespace", ns)
	b.WriteString(">")
	assocs := s.associations()
	written := map[string]bool{}
	for _, t := range s.Types {
		for _, p := range t.Props {
			if p.Complex == nil || written[p.Type] {
				continue
			}
			written[p.Type] = true
			b.WriteString("<ComplexType")
			xmlAttr(&b, "Name", p.Type)
			b.WriteString(">")
			for _, m := range p.Complex {
				writeEDMXProp(&b, ns, m)
			}
			b.WriteString("</ComplexType>")
		}
	}
	for _, t := range s.Types {
		b.WriteString("<EntityType")
		xmlAttr(&b, "Name", t.Name)
		if t.Open {
			xmlAttr(&b, "OpenType", "true")
		}
		b.WriteString("><Key>")
		keys := t.Keys
		if t.HasID {
			keys = []string{MemberID}
		}
		for _, k := range keys {
			b.WriteString("<PropertyRef")
			xmlAttr(&b, "Name", k)
			b.WriteString("/>")
		}
		b.WriteString("</Key>")
		if t.HasID {
			b.WriteString(`<Property Name="__id" Type="Edm.String" Nullable="false"/>`)
		}
		for _, p := range t.Props {
			writeEDMXProp(&b, ns, p)
		}
		b.WriteString(`<Property Name="__published" Type="Edm.DateTime" Nullable="false" Precision="3"/>`)
		b.WriteString(`<Property Name="__updated" Type="Edm.DateTime" Nullable="false" Precision="3"/>`)
		for _, n := range t.Nav {
			o := s.Type(n.Target)
			if o == nil {
				continue
			}
			name := assocName(t.Name, o.Name)
			b.WriteString("<NavigationProperty")
			xmlAttr(&b, "Name", n.Name)
			xmlAttr(&b, "Relationship", ns+"."+name)
			xmlAttr(&b, "FromRole", t.Name+"-"+o.Name)
			xmlAttr(&b, "ToRole", o.Name+"-"+t.Name)
			b.WriteString("/>")
		}
		b.WriteString("</EntityType>")
	}
	for _, a := range assocs {
		b.WriteString("<Association")
		xmlAttr(&b, "Name", a.name)
		b.WriteString("><End")
		xmlAttr(&b, "Role", a.a.Name+"-"+a.b.Name)
		xmlAttr(&b, "Type", ns+"."+a.a.Name)
		xmlAttr(&b, "Multiplicity", a.aMult)
		b.WriteString("/><End")
		xmlAttr(&b, "Role", a.b.Name+"-"+a.a.Name)
		xmlAttr(&b, "Type", ns+"."+a.b.Name)
		xmlAttr(&b, "Multiplicity", a.bMult)
		b.WriteString("/></Association>")
	}
	b.WriteString("<EntityContainer")
	xmlAttr(&b, "Name", s.Container)
	b.WriteString(` m:IsDefaultEntityContainer="true">`)
	for _, t := range s.Types {
		b.WriteString("<EntitySet")
		xmlAttr(&b, "Name", t.Name)
		xmlAttr(&b, "EntityType", ns+"."+t.Name)
		b.WriteString("/>")
	}
	for _, a := range assocs {
		b.WriteString("<AssociationSet")
		xmlAttr(&b, "Name", a.name)
		xmlAttr(&b, "Association", ns+"."+a.name)
		b.WriteString("><End")
		xmlAttr(&b, "Role", a.a.Name+"-"+a.b.Name)
		xmlAttr(&b, "EntitySet", a.a.Name)
		b.WriteString("/><End")
		xmlAttr(&b, "Role", a.b.Name+"-"+a.a.Name)
		xmlAttr(&b, "EntitySet", a.b.Name)
		b.WriteString("/></AssociationSet>")
	}
	b.WriteString("</EntityContainer></Schema></edmx:DataServices></edmx:Edmx>")
	return b.Bytes()
}

func assocName(x, y string) string {
	if y < x {
		x, y = y, x
	}
	return x + "-" + y
}

func literalText(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case bool:
		return strconv.FormatBool(x)
	case int64:
		return itoa(x)
	case float64:
		return formatFloat(x)
	}
	return ""
}

func (s *Service) writeMetadata(w http.ResponseWriter, r *http.Request) error {
	body := s.Schema.EDMX()
	h := w.Header()
	h.Set("Content-Type", "application/xml")
	h.Set("DataServiceVersion", "1.0")
	h.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(http.StatusOK)
	if r.Method != http.MethodHead {
		_, _ = w.Write(body)
	}
	return nil
}

// writeServiceDocument lists the entity sets: AtomPub XML by default,
// JSON when asked for.
func (s *Service) writeServiceDocument(w http.ResponseWriter, r *http.Request) error {
	var b bytes.Buffer
	if r.URL.Query().Get("$format") == "json" || strings.Contains(r.Header.Get("Accept"), "application/json") {
		b.WriteString(`{"d":{"EntitySets":[`)
		for i, n := range s.Schema.SetNames() {
			if i > 0 {
				b.WriteByte(',')
			}
			writeString(&b, n)
		}
		b.WriteString("]}}")
		s.writeJSON(w, http.StatusOK, &b)
		return nil
	}
	b.WriteString(`<?xml version="1.0" encoding="utf-8" standalone="yes"?>` + "\n")
	b.WriteString(`<service xmlns="http://www.w3.org/2007/app" xmlns:atom="http://www.w3.org/2005/Atom" xmlns:app="http://www.w3.org/2007/app"`)
	xmlAttr(&b, "xml:base", s.Base)
	b.WriteString(`><workspace><atom:title>Default</atom:title>`)
	for _, n := range s.Schema.SetNames() {
		b.WriteString("<collection")
		xmlAttr(&b, "href", n)
		b.WriteString("><atom:title>")
		_ = xml.EscapeText(&b, []byte(n))
		b.WriteString("</atom:title></collection>")
	}
	b.WriteString("</workspace></service>")
	h := w.Header()
	h.Set("Content-Type", "application/atomsvc+xml")
	h.Set("DataServiceVersion", "1.0")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(b.Bytes())
	return nil
}
