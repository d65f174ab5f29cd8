package dav

import (
	"encoding/xml"
	"errors"
	"io"

	"github.com/personium-go/personium/internal/perr"
)

// Namespaces of the WebDAV vocabulary.
const (
	NSDAV       = "DAV:"
	NSPersonium = "urn:x-personium:xmlns" // Personium's extensions, prefix "p"
)

// Limits on request bodies. Personium has none; these keep a hostile
// body from costing more than a few milliseconds or being stored.
const (
	MaxXMLBytes  = 1 << 20  // PROPFIND, PROPPATCH and MKCOL bodies; larger: PR413-MC-0001
	MaxDepth     = 64       // element nesting, the root counting 1; deeper: PR400-DV-0001
	MaxProps     = 1000     // property elements in one body; more: PR400-DV-0002
	MaxPropBytes = 64 << 10 // serialized value of one property; longer: PR400-DV-0002
)

// Property is one WebDAV property: its name and its value as raw,
// well-formed XML content (the inner XML of the property element, the
// namespace declarations it needs made self-contained so that it can be
// stored and written back verbatim in another document).
//
// Attr holds the attributes of the property element itself, namespace
// declarations excepted: Personium's p:service keeps its language and
// subject there, and RFC 4918 §4.3 asks servers to keep the xml:lang in
// scope, which the parsers add when the element does not carry one.
// Attribute names are resolved (Space is a namespace URI, xml:lang is
// {http://www.w3.org/XML/1998/namespace}lang). Attr and InnerXML are nil
// for property names only (PROPFIND prop, PROPPATCH remove).
type Property struct {
	Name     xml.Name
	InnerXML []byte
	Attr     []xml.Attr
}

// PropfindRequest is the body of a PROPFIND (RFC 4918 §9.1, §14.20).
// Exactly one of AllProp, PropName and "Prop" (both false) applies;
// Include is only set with AllProp. An empty body, and a propfind element
// with none of allprop, propname and prop, mean AllProp (Personium
// answers every PROPFIND as allprop).
type PropfindRequest struct {
	AllProp, PropName bool
	Prop              []xml.Name // without duplicates, in document order
	Include           []xml.Name
}

// PatchOp is one <D:set> or <D:remove> of a PROPPATCH, in document order
// (RFC 4918 §9.2: applied in order, all or nothing). The Props of a
// remove carry names only. (Personium applies every set before every
// remove; the order here is the RFC's.)
type PatchOp struct {
	Remove bool
	Props  []Property
}

// MkcolRequest is an extended MKCOL body (RFC 5689) as Personium uses
// it: the children of DAV:resourcetype (DAV:collection, and
// urn:x-personium:xmlns odata, service or stream) and the other
// properties to set. ResourceType is nil when the body names no
// resourcetype, non-nil (possibly empty) when it does; see Type.
type MkcolRequest struct {
	ResourceType []xml.Name
	Props        []Property
}

// Names of DAV elements the parsers and writers use.
var (
	PropResourceType = xml.Name{Space: NSDAV, Local: "resourcetype"}
	// PropService is a service collection's routes (p:service).
	PropService          = xml.Name{Space: NSPersonium, Local: "service"}
	PropCreationDate     = xml.Name{Space: NSDAV, Local: "creationdate"}
	PropGetLastModified  = xml.Name{Space: NSDAV, Local: "getlastmodified"}
	PropGetContentLength = xml.Name{Space: NSDAV, Local: "getcontentlength"}
	PropGetContentType   = xml.Name{Space: NSDAV, Local: "getcontenttype"}
	PropGetETag          = xml.Name{Space: NSDAV, Local: "getetag"}
	PropDisplayName      = xml.Name{Space: NSDAV, Local: "displayname"}
	PropACL              = xml.Name{Space: NSDAV, Local: "acl"}

	// ValidResourceType is the RFC 5689 §3 precondition a refused
	// MKCOL reports in its mkcol-response.
	ValidResourceType = xml.Name{Space: NSDAV, Local: "valid-resourcetype"}
)

func davName(local string) xml.Name { return xml.Name{Space: NSDAV, Local: local} }

// parse runs body over a non-empty document whose root must be
// {DAV:}rootLocal, and attaches the codes to its errors.
func parse(op string, data []byte, rootLocal string, body func(*reader, *elem) error) error {
	r := newReader(data)
	err := func() error {
		root, err := r.root()
		if err != nil {
			return err
		}
		if root.name != davName(rootLocal) {
			return errors.New("root element is {" + root.name.Space + "}" + root.name.Local +
				", not {DAV:}" + rootLocal)
		}
		if err := body(r, root); err != nil {
			return err
		}
		return r.finish()
	}()
	if err == nil {
		return nil
	}
	var ce *contentError
	if errors.As(err, &ce) {
		return perr.New(codeContent).WithOp(op).WithCause(err)
	}
	return perr.New(codeParse).WithOp(op).WithCause(err)
}

// ParsePropfind reads the body of a PROPFIND. Unknown elements are
// ignored (litmus "propextended"); the content of the property elements
// under D:prop and D:include is skipped. Errors are *perr.E: see the
// package comment.
func ParsePropfind(r io.Reader) (*PropfindRequest, error) {
	const op = "dav.ParsePropfind"
	data, empty, err := readBody(op, r)
	if err != nil {
		return nil, err
	}
	req := &PropfindRequest{}
	if empty {
		req.AllProp = true
		return req, nil
	}
	var prop, include bool
	names := func(rd *reader, list *[]xml.Name) error {
		seen := map[xml.Name]bool{}
		for _, n := range *list {
			seen[n] = true
		}
		return rd.children(func(e *elem) error {
			p, err := rd.property(e, false)
			if err == nil && !seen[p.Name] {
				seen[p.Name] = true
				*list = append(*list, p.Name)
			}
			return err
		})
	}
	err = parse(op, data, "propfind", func(rd *reader, _ *elem) error {
		return rd.children(func(e *elem) error {
			switch e.name {
			case davName("allprop"):
				req.AllProp = true
			case davName("propname"):
				req.PropName = true
			case davName("prop"):
				prop = true
				return names(rd, &req.Prop)
			case davName("include"):
				include = true
				return names(rd, &req.Include)
			}
			return rd.skip(e)
		})
	})
	if err != nil {
		return nil, err
	}
	kinds := 0
	for _, b := range []bool{req.AllProp, req.PropName, prop} {
		if b {
			kinds++
		}
	}
	switch {
	case kinds > 1:
		return nil, perr.New(codeContent).WithOp(op).WithCause(errors.New("propfind asks for more than one of allprop, propname and prop"))
	case include && !req.AllProp:
		return nil, perr.New(codeContent).WithOp(op).WithCause(errors.New("include without allprop"))
	case kinds == 0:
		req.AllProp = true
	}
	return req, nil
}

// ParseProppatch reads the body of a PROPPATCH (RFC 4918 §9.2,
// §14.19): the set and remove operations in document order. A
// propertyupdate without any is accepted (Personium answers it with an
// empty 207). An empty body is a parse error, as in Personium. Errors
// are *perr.E: see the package comment.
func ParseProppatch(r io.Reader) ([]PatchOp, error) {
	const op = "dav.ParseProppatch"
	data, empty, err := readBody(op, r)
	if err != nil {
		return nil, err
	}
	if empty {
		return nil, perr.New(codeParse).WithOp(op).WithCause(errors.New("empty body"))
	}
	var ops []PatchOp
	err = parse(op, data, "propertyupdate", func(rd *reader, _ *elem) error {
		return rd.children(func(e *elem) error {
			var o PatchOp
			switch e.name {
			case davName("set"):
			case davName("remove"):
				o.Remove = true
			default:
				return rd.skip(e)
			}
			found := false
			err := rd.children(func(e *elem) error {
				if e.name != davName("prop") {
					return rd.skip(e)
				}
				found = true
				return rd.children(func(e *elem) error {
					p, err := rd.property(e, !o.Remove)
					o.Props = append(o.Props, p)
					return err
				})
			})
			if err != nil {
				return err
			}
			if !found {
				return contentErrorf("<%s> without <D:prop>", e.name.Local)
			}
			ops = append(ops, o)
			return nil
		})
	})
	if err != nil {
		return nil, err
	}
	return ops, nil
}

// ParseMkcol reads the body of an extended MKCOL (RFC 5689 §5.1):
// DAV:resourcetype goes to ResourceType, the other properties of every
// D:set to Props. An empty body is a plain collection. A body without
// resourcetype is not an error here: Type reports it, and the server
// answers 403 with a mkcol-response, as Personium does. Errors are
// *perr.E: see the package comment.
func ParseMkcol(r io.Reader) (*MkcolRequest, error) {
	const op = "dav.ParseMkcol"
	data, empty, err := readBody(op, r)
	if err != nil {
		return nil, err
	}
	if empty {
		return &MkcolRequest{ResourceType: []xml.Name{davName("collection")}}, nil
	}
	m := &MkcolRequest{}
	err = parse(op, data, "mkcol", func(rd *reader, _ *elem) error {
		return rd.children(func(e *elem) error {
			if e.name != davName("set") {
				return rd.skip(e)
			}
			return rd.children(func(e *elem) error {
				if e.name != davName("prop") {
					return rd.skip(e)
				}
				return rd.children(func(e *elem) error {
					if e.name != PropResourceType {
						p, err := rd.property(e, true)
						m.Props = append(m.Props, p)
						return err
					}
					if rd.props++; rd.props > MaxProps {
						return contentErrorf("more than %d properties", MaxProps)
					}
					m.ResourceType = []xml.Name{} // the last resourcetype wins, as in Personium
					return rd.children(func(e *elem) error {
						m.ResourceType = append(m.ResourceType, e.name)
						return rd.skip(e)
					})
				})
			})
		})
	})
	if err != nil {
		return nil, err
	}
	return m, nil
}

// CollectionType is the kind of collection an MKCOL creates. The values
// are the node types Personium stores (DavCmp.TYPE_COL_*).
type CollectionType string

// Collection types.
const (
	CollectionPlain   CollectionType = "col.webdav" // DAV:collection
	CollectionOData   CollectionType = "col.odata"  // + p:odata
	CollectionService CollectionType = "col.svc"    // + p:service
	CollectionStream  CollectionType = "col.stream" // + p:stream
)

// collectionExt maps a Personium resourcetype extension to its type.
var collectionExt = map[xml.Name]CollectionType{
	{Space: NSPersonium, Local: "odata"}:   CollectionOData,
	{Space: NSPersonium, Local: "service"}: CollectionService,
	{Space: NSPersonium, Local: "stream"}:  CollectionStream,
}

// ResourceType returns the children of DAV:resourcetype for t; nil for
// anything else (a file has an empty resourcetype).
func (t CollectionType) ResourceType() []xml.Name {
	if t == CollectionPlain {
		return []xml.Name{davName("collection")}
	}
	for n, ct := range collectionExt {
		if ct == t {
			return []xml.Name{davName("collection"), n}
		}
	}
	return nil
}

// Type checks the resourcetype of an MKCOL as Personium's
// Mkcol.getWebdavColType does and returns the collection to create. A
// refusal is a *perr.E of Kind Permission without a code whose cause
// text is Personium's reason: the server answers 403 with a
// WriteMkcolResponse body holding a propstat with status 403, Error
// ValidResourceType and that reason as its responsedescription.
func (m *MkcolRequest) Type() (CollectionType, error) {
	refuse := func(reason string) (CollectionType, error) {
		return "", &perr.E{Kind: perr.Permission, Op: "dav.MkcolRequest.Type", Err: errors.New(reason)}
	}
	if m.ResourceType == nil {
		return refuse("resourcetype should be defined in mkcol request, See RFC5689 : extended MKCOL")
	}
	collection := false
	var ext []xml.Name
	for _, n := range m.ResourceType {
		if n == davName("collection") {
			collection = true
		} else {
			ext = append(ext, n)
		}
	}
	switch {
	case !collection:
		return refuse("collection should be included in request. See RFC5689 : extended MKCOL")
	case len(ext) == 0:
		return CollectionPlain, nil
	case len(ext) > 1:
		return refuse("only 1 extension to collection specified in RFC5689 is allowed on this server. ")
	}
	if t, ok := collectionExt[ext[0]]; ok {
		return t, nil
	}
	switch ext[0].Space {
	case NSPersonium:
		return refuse("such DC1 extension not supported on this server")
	case "urn:ietf:params:xml:ns:caldav":
		return refuse("such Caldav extension not supported on this server")
	}
	return refuse("such RFC5689 extension not supported on this server")
}
