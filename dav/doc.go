// Package dav implements WebDAV as Personium serves it below a box: RFC
// 4918 class 1 and 2, RFC 3744 access control as Personium uses it (the
// ACL method with role principals, see package acl), and extended MKCOL
// (RFC 5689) for OData, engine service and stream collections, over a
// tree interface that the metadata and content stores implement.
//
// The files xml.go, xmlread.go and xmlwrite.go are its XML layer: pure
// functions, with no HTTP handler and no storage, that parse request
// bodies (ParsePropfind, ParseProppatch, ParseMkcol) and write multistatus
// answers (WriteMultistatus, WriteMkcolResponse).
//
// # Request bodies
//
// Bodies are read whole, up to MaxXMLBytes, and parsed by a
// namespace-aware reader built on encoding/xml that refuses what a
// hostile client could use against the server: DTDs and every other <!…>
// declaration (so no entity expansion and no external entities), entities
// other than the five predefined ones, element nesting deeper than
// MaxDepth, more than MaxProps properties and property values over
// MaxPropBytes. It also refuses what is not namespace-well-formed:
// undeclared prefixes, xmlns:x="", rebinding xml or xmlns, duplicate
// attributes. Unknown elements are ignored where RFC 4918 §17 asks for it.
//
// Errors are *perr.E with Personium's codes, as personium-core raises them
// (PersoniumCoreException.Dav; DavRsCmp.doPropfind and doProppatch,
// NullResource.putForCreate, DavCmpFsImpl.proppatch):
//
//	PR400-DV-0001  XML parse error: not well-formed, not namespace-well-formed,
//	               a <!DOCTYPE>/<!ENTITY>, an undeclared entity, a wrong root
//	               element, nesting deeper than MaxDepth, an empty PROPPATCH
//	               body. Personium answers every unmarshalling failure of
//	               these three methods, wrong root included, with this code.
//	PR400-DV-0002  XML content error: <D:set> or <D:remove> without <D:prop>
//	               (as DavCmpFsImpl.proppatch), a PROPFIND asking for two of
//	               allprop/propname/prop or include without allprop, more
//	               than MaxProps properties, a value over MaxPropBytes.
//	PR413-MC-0001  a body over MaxXMLBytes.
//
// # Property values
//
// A Property holds its value as InnerXML: the content of the property
// element, made self-contained. Prefixes that the value uses but that
// were declared on an ancestor (the property element, D:prop, the root…)
// are declared again on the value's top-level elements, so the bytes can
// be stored and later written verbatim inside any element that does not
// declare a default namespace. Text is re-escaped (&, <, > and CR), CDATA
// sections become escaped text, comments and processing instructions are
// dropped; element names, prefixes, attributes and character data are
// kept, as RFC 4918 §4.3 requires for dead properties.
package dav
