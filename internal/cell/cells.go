package cell

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"io"
	"sync"
	"time"

	"github.com/personium-go/personium/dav"
	"github.com/personium-go/personium/internal/auth"
	"github.com/personium-go/personium/internal/metastore"
	"github.com/personium-go/personium/internal/perr"
	"github.com/personium-go/personium/odata"
)

// Document kinds owned by this package (besides the entity type names).
const (
	KindCell          = "Cell"
	KindAccountSecret = "AccountSecret" // password hash of an account, keyed by the account's ID
)

// Manager gives access to the cells of a unit and their control objects.
// It is safe for concurrent use.
type Manager struct {
	Store metastore.Store
	Now   func() time.Time // nil: time.Now
	Rand  io.Reader        // nil: crypto/rand (IDs, salts)
	// SharedStore is set when other processes write Store too (several
	// servers behind a load balancer on one Elasticsearch store). Get then
	// remembers no cell: a cell another process deleted or replaced must
	// answer 404 at once, not take writes for up to CellCacheTTL into
	// documents under its old ID that nothing reaches any more.
	SharedStore bool
	// UnitURL is the unit's URL, for the checks that refuse this unit's
	// http(s) URLs where personium-localunit: is due (Rule); "" skips them.
	UnitURL string

	unitSchema *odata.Schema
	cellSchema *odata.Schema
	cellCache  sync.Map // name → cachedCell
}

// NewManager returns a Manager over store.
func NewManager(store metastore.Store) *Manager {
	return &Manager{Store: store, unitSchema: UnitSchema(), cellSchema: CellSchema()}
}

// UnitSchema and CellSchema return the schemas the manager serves.
func (m *Manager) UnitSchema() *odata.Schema { return m.unitSchema }

// CellSchema returns the schema of __ctl.
func (m *Manager) CellSchema() *odata.Schema { return m.cellSchema }

func (m *Manager) now() time.Time {
	if m.Now != nil {
		return m.Now()
	}
	return time.Now()
}

func (m *Manager) rand() io.Reader {
	if m.Rand != nil {
		return m.Rand
	}
	return rand.Reader
}

// NewID returns a 128-bit identifier in hex: the time in Unix ms (48
// bits) and 80 random bits. IDs made one after the other sort together,
// so the store's indexes on them (document IDs, and the keys of entities
// created without __id) grow at their end rather than at random pages,
// which kept large sets' writes in the page cache; 80 random bits keep
// them unguessable. (Creation times are no secret: entities show their
// __published.)
func (m *Manager) NewID() string {
	var b [16]byte
	ms := uint64(m.now().UnixMilli())
	for i := 0; i < 6; i++ {
		b[i] = byte(ms >> (40 - 8*i))
	}
	if _, err := io.ReadFull(m.rand(), b[6:]); err != nil {
		panic("cell: no randomness: " + err.Error())
	}
	return hex.EncodeToString(b[:])
}

// EnsureIndexes asks the store (if it can) to index the members that
// control-object queries filter and sort on.
func (m *Manager) EnsureIndexes(ctx context.Context) error {
	ix, ok := m.Store.(metastore.Indexer)
	if !ok {
		return nil
	}
	for _, t := range append(m.cellSchema.Types, m.unitSchema.Types...) {
		var fields []metastore.Field
		for _, p := range t.Props {
			fields = append(fields, p.Name)
		}
		for _, f := range fields {
			if err := ix.EnsureIndex(ctx, t.Name, f); err != nil {
				return err
			}
		}
	}
	if err := ix.EnsureIndex(ctx, odata.KindLink, "a"); err != nil {
		return err
	}
	return ix.EnsureIndex(ctx, odata.KindLink, "b")
}

// Cell is a cell as other packages see it.
type Cell struct {
	ID        string
	Name      string
	Owner     string // owner URL of a unit user; "" if created by the unit master
	Published int64
	Updated   int64
}

// Get returns the cell called name; PR404-DV-0003-class NotExist if none.
//
// Cells found are remembered for CellCacheTTL: every request starts with
// this lookup. Writes through this Manager forget them at once. With
// SharedStore nothing is remembered, since writes of other processes
// would go unnoticed.
func (m *Manager) Get(ctx context.Context, name string) (*Cell, error) {
	if m.SharedStore {
		return m.load(ctx, name)
	}
	if v, ok := m.cellCache.Load(name); ok {
		if e := v.(cachedCell); m.now().Sub(e.at) < CellCacheTTL && m.now().Sub(e.at) >= 0 {
			c := *e.c
			return &c, nil
		}
	}
	c, err := m.load(ctx, name)
	if err == nil {
		cp := *c
		m.cellCache.Store(name, cachedCell{c: &cp, at: m.now()})
	}
	return c, err
}

// CellCacheTTL is how long Get trusts a cell it looked up.
const CellCacheTTL = time.Second

type cachedCell struct {
	c  *Cell
	at time.Time
}

// forgetCells empties the cell cache (after any write to a cell).
func (m *Manager) forgetCells() { m.cellCache.Clear() }

func (m *Manager) load(ctx context.Context, name string) (*Cell, error) {
	key, _ := json.Marshal([]string{name})
	d, err := m.Store.GetKey(ctx, KindCell, "", "", string(key))
	if err != nil {
		if perr.Is(err, perr.NotExist) {
			return nil, perr.New("PR404-DV-0003").WithCause(err)
		}
		return nil, err
	}
	var body struct {
		Name  string `json:"Name"`
		Owner string `json:"__owner"`
	}
	if err := json.Unmarshal(d.Body, &body); err != nil {
		return nil, perr.Errorf(perr.Internal, "cell: corrupt cell document %s: %v", d.ID, err)
	}
	return &Cell{ID: d.ID, Name: body.Name, Owner: body.Owner, Published: d.Published, Updated: d.Updated}, nil
}

// UnitProvider serves {unit}__ctl/Cell. owner is recorded on new cells;
// with onlyOwned, the provider sees only the cells owner owns.
func (m *Manager) UnitProvider(owner string, onlyOwned bool) *odata.DocProvider {
	var scope map[string]metastore.Expr
	if onlyOwned {
		scope = map[string]metastore.Expr{"Cell": metastore.Cmp{Field: "__owner", Op: metastore.Eq, Value: owner}}
	}
	return &odata.DocProvider{
		Scope: scope,
		Store: m.Store, Schema: m.unitSchema, Now: m.now, NewID: m.NewID,
		Hooks: map[string]*odata.Hooks{"Cell": {
			Check: func(ctx context.Context, old, e *odata.Entity) error {
				m.forgetCells()
				if old == nil {
					if owner != "" {
						e.Props["__owner"] = owner
					}
				}
				return nil
			},
			Extra: func(ctx context.Context, old, e *odata.Entity) ([]metastore.Op, error) {
				m.forgetCells()
				if e != nil {
					return nil, nil
				}
				// Deleting: refused while the cell holds anything.
				res, err := m.Store.Query(ctx, &metastore.Query{AnyKind: true, Cell: old.ID, AnyParent: true, Limit: 1})
				if err != nil {
					return nil, err
				}
				if len(res.Docs) > 0 {
					return nil, perr.New("PR409-OD-0001")
				}
				return nil, nil
			},
		}},
	}
}

// DeleteRecursive deletes the cell and everything in it. The cell
// document goes first, so that the cell answers 404 while its contents are
// removed. (A write that had already loaded the cell and lands after the
// sweep would leave an unreachable document behind; cell-level locking
// comes with export/import.)
func (m *Manager) DeleteRecursive(ctx context.Context, c *Cell) error {
	defer m.forgetCells()
	_, err := m.Store.Apply(ctx, metastore.Op{Type: metastore.Delete, Doc: metastore.Doc{ID: c.ID}})
	if perr.Is(err, perr.NotExist) {
		return perr.New("PR404-DV-0003")
	}
	if err != nil {
		return err
	}
	_, err = m.Store.DeleteCell(ctx, c.ID)
	return err
}

type credentialKey struct{}

// WithCredential returns a context carrying the X-Personium-Credential
// header value of the request ("" when absent), for Account writes.
func WithCredential(ctx context.Context, cred string, present bool) context.Context {
	if !present {
		return ctx
	}
	return context.WithValue(ctx, credentialKey{}, cred)
}

func credential(ctx context.Context) (string, bool) {
	s, ok := ctx.Value(credentialKey{}).(string)
	return s, ok
}

// CtlProvider serves {cell}__ctl of c.
func (m *Manager) CtlProvider(c *Cell) *odata.DocProvider {
	p := &odata.DocProvider{Store: m.Store, Schema: m.cellSchema, Cell: c.ID, Now: m.now, NewID: m.NewID}
	// Messages are made by __message only (MessageProvider).
	readOnly := &odata.Hooks{ReadOnly: true}
	p.Hooks = map[string]*odata.Hooks{
		"Account": {Check: func(_ context.Context, _, e *odata.Entity) error { return checkAccountType(e) },
			Extra: m.accountSecretOps(c)},
		"Rule":            {Check: m.checkRule},
		"Box":             {Check: m.boxSchemaUnique(p), Extra: m.boxContents(c)},
		"ReceivedMessage": readOnly,
		"SentMessage":     readOnly,
	}
	return p
}

// MessageProvider is CtlProvider with ReceivedMessage and SentMessage
// writable: for __message/send and __message/port, which alone create
// messages (and change their Status).
func (m *Manager) MessageProvider(c *Cell) *odata.DocProvider {
	p := m.CtlProvider(c)
	delete(p.Hooks, "ReceivedMessage")
	delete(p.Hooks, "SentMessage")
	return p
}

// accountSecretOps keeps an account's password hash in its own document,
// never in the entity body (so no query or full-text search can reach it).
func (m *Manager) accountSecretOps(c *Cell) func(ctx context.Context, old, e *odata.Entity) ([]metastore.Op, error) {
	return func(ctx context.Context, old, e *odata.Entity) ([]metastore.Op, error) {
		if e == nil { // delete
			d, err := m.Store.GetKey(ctx, KindAccountSecret, c.ID, "", old.ID)
			if perr.Is(err, perr.NotExist) {
				return nil, nil
			}
			if err != nil {
				return nil, err
			}
			return []metastore.Op{{Type: metastore.Delete, Doc: metastore.Doc{ID: d.ID}}}, nil
		}
		pw, ok := credential(ctx)
		if !ok {
			return nil, nil
		}
		if !auth.ValidPassword(pw) {
			return nil, perr.New("PR400-AU-0001")
		}
		hash, err := auth.HashPassword(pw, m.rand())
		if err != nil {
			return nil, err
		}
		body, _ := json.Marshal(map[string]string{"hash": hash})
		now := m.now().UnixMilli()
		doc := metastore.Doc{ID: m.NewID(), Kind: KindAccountSecret, Cell: c.ID, Key: e.ID, Body: body, Published: now, Updated: now}
		if old != nil {
			if cur, err := m.Store.GetKey(ctx, KindAccountSecret, c.ID, "", e.ID); err == nil {
				doc.ID = cur.ID
				return []metastore.Op{{Type: metastore.Update, Doc: doc}}, nil
			} else if !perr.Is(err, perr.NotExist) {
				return nil, err
			}
		}
		return []metastore.Op{{Type: metastore.Create, Doc: doc}}, nil
	}
}

// PasswordHash returns the stored password hash of the account with the
// given entity ID, "" if it has none.
func (m *Manager) PasswordHash(ctx context.Context, c *Cell, accountID string) (string, error) {
	d, err := m.Store.GetKey(ctx, KindAccountSecret, c.ID, "", accountID)
	if perr.Is(err, perr.NotExist) {
		return "", nil
	}
	if err != nil {
		return "", err
	}
	var body struct{ Hash string }
	if err := json.Unmarshal(d.Body, &body); err != nil {
		return "", perr.Errorf(perr.Internal, "cell: corrupt secret: %v", err)
	}
	return body.Hash, nil
}

// boxContents refuses to delete a box that still holds WebDAV resources
// (PR409-OD-0001, as Personium refuses a box with contents) unless the
// deletion is recursive (WithRecursiveBoxDelete): then every node of the
// box goes in the same atomic batch as the box. The root node (the
// root's ACL and properties) always goes with the box.
func (m *Manager) boxContents(c *Cell) func(ctx context.Context, old, e *odata.Entity) ([]metastore.Op, error) {
	return func(ctx context.Context, old, e *odata.Entity) ([]metastore.Op, error) {
		if e != nil {
			return nil, nil
		}
		root := BoxRoot(c.ID, old.ID)
		var ops []metastore.Op
		if recursive, _ := ctx.Value(recursiveBoxKey{}).(bool); recursive {
			ids, err := dav.BoxNodes(ctx, m.Store, c.ID, root)
			if err != nil {
				return nil, err
			}
			for _, id := range ids {
				ops = append(ops, metastore.Op{Type: metastore.Delete, Doc: metastore.Doc{ID: id}})
			}
		} else if has, err := dav.HasContents(ctx, m.Store, c.ID, root); err != nil {
			return nil, err
		} else if has {
			return nil, perr.New("PR409-OD-0001")
		}
		if _, err := m.Store.Get(ctx, root); err == nil {
			ops = append(ops, metastore.Op{Type: metastore.Delete, Doc: metastore.Doc{ID: root}})
		} else if !perr.Is(err, perr.NotExist) {
			return nil, err
		}
		return ops, nil
	}
}

type recursiveBoxKey struct{}

// WithRecursiveBoxDelete marks ctx so that deleting a Box through the
// control provider deletes its WebDAV contents too (DELETE {cell}{box}
// with X-Personium-Recursive: true).
func WithRecursiveBoxDelete(ctx context.Context) context.Context {
	return context.WithValue(ctx, recursiveBoxKey{}, true)
}

// boxSchemaUnique refuses a Box whose Schema another box of the cell has.
func (m *Manager) boxSchemaUnique(p *odata.DocProvider) func(ctx context.Context, old, e *odata.Entity) error {
	return func(ctx context.Context, old, e *odata.Entity) error {
		schema, _ := e.Props["Schema"].(string)
		if schema == "" {
			return nil
		}
		others, _, err := p.List(ctx, p.Schema.Type("Box"), &odata.ListRequest{
			Filter: metastore.Cmp{Field: "Schema", Op: metastore.Eq, Value: schema}, Limit: 2})
		if err != nil {
			return err
		}
		for _, o := range others {
			if o.ID != e.ID {
				return perr.New("PR409-OD-0003")
			}
		}
		return nil
	}
}

// ChangePassword sets a new password for the account acc of c (from
// __mypassword) and makes a passwordChangeRequired account active.
func (m *Manager) ChangePassword(ctx context.Context, c *Cell, acc *odata.Entity, pw string) error {
	p := m.CtlProvider(c)
	t := m.cellSchema.Type("Account")
	props := map[string]any{}
	if st, _ := acc.Props["Status"].(string); st == "passwordChangeRequired" {
		props["Status"] = "active"
	}
	_, err := p.Update(WithCredential(ctx, pw, true), t, odata.KeyPredicate{{Value: acc.Props["Name"]}}, props, true, "")
	return err
}
