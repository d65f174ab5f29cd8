package cell

import (
	"context"
	"encoding/json"
	"io"
	"net"
	"strings"
	"time"

	"github.com/personium-go/personium/internal/auth"
	"github.com/personium-go/personium/internal/metastore"
	"github.com/personium-go/personium/internal/pds"
	"github.com/personium-go/personium/internal/perr"
	"github.com/personium-go/personium/odata"
)

// Token lifetimes and limits (reference §4.2, §12).
const (
	DefaultAccessLife  = time.Hour
	DefaultRefreshLife = 24 * time.Hour
	MaxAccessLife      = time.Hour
	MaxRefreshLife     = 24 * time.Hour
	GrantCodeLife      = 10 * time.Minute
	// validAuthnInterval: after a failed password attempt the account
	// refuses every attempt, the right password included, for this long.
	validAuthnInterval = time.Second
)

// KindAuthHistory is the document kind of an account's authentication
// history (last success, failures), keyed by the account's entity ID.
const KindAuthHistory = "AuthHistory"

// Authn issues tokens for the cells of a unit and turns presented tokens
// into principals. It is safe for concurrent use.
type Authn struct {
	Cells   *Manager
	Sealer  *auth.Sealer
	Key     *auth.UnitKey    // signs transcell tokens
	Trust   *auth.TrustStore // whose transcell tokens are accepted
	UnitURL string           // ends in "/"
	Now     func() time.Time
	Rand    io.Reader
	// LockCount failed password attempts in a row lock an account for
	// LockTime (every attempt refused, the right password included);
	// 0 turns the lock off, as in Personium's default configuration.
	LockCount int
	LockTime  time.Duration
}

func (a *Authn) now() time.Time {
	if a.Now != nil {
		return a.Now()
	}
	return time.Now()
}

// CellURL is the URL of the cell c.
func (a *Authn) CellURL(c *Cell) string { return a.UnitURL + c.Name + "/" }

// RoleURL is the instance URL of a role: {cell}__role/{box or __}/{name}.
func (a *Authn) RoleURL(c *Cell, box any, name string) string {
	b, _ := box.(string)
	if b == "" {
		b = string(pds.MainBox)
	}
	return a.CellURL(c) + "__role/" + b + "/" + name
}

// accountRoles returns the role instance URLs linked to the account e.
func (a *Authn) accountRoles(ctx context.Context, c *Cell, acc *odata.Entity) ([]string, error) {
	p := a.Cells.CtlProvider(c)
	t := a.Cells.CellSchema().Type("Account")
	roles, _, err := p.Related(ctx, t, odata.KeyPredicate{{Value: acc.Props["Name"]}}, t.NavProp("_Role"), &odata.ListRequest{Limit: -1})
	if err != nil {
		return nil, err
	}
	out := make([]string, 0, len(roles))
	for _, r := range roles {
		out = append(out, a.RoleURL(c, r.Props["_Box.Name"], r.Props["Name"].(string)))
	}
	return out, nil
}

// account loads the account called name; PR404-OD-0002-class if none.
func (a *Authn) account(ctx context.Context, c *Cell, name string) (*odata.Entity, error) {
	return a.Cells.CtlProvider(c).Get(ctx, a.Cells.CellSchema().Type("Account"), odata.KeyPredicate{{Value: name}})
}

// authHistory is an account's authentication history.
type authHistory struct {
	doc        *metastore.Doc
	LastAuth   int64 `json:"last"`       // Unix ms of the last successful authentication, 0 if never
	Failed     int64 `json:"failed"`     // failed attempts since the last success
	LastFailed int64 `json:"lastFailed"` // Unix ms of the last failure
}

func (a *Authn) history(ctx context.Context, c *Cell, accountID string) (*authHistory, error) {
	d, err := a.Cells.Store.GetKey(ctx, KindAuthHistory, c.ID, "", accountID)
	if perr.Is(err, perr.NotExist) {
		return &authHistory{}, nil
	}
	if err != nil {
		return nil, err
	}
	h := &authHistory{doc: d}
	if err := json.Unmarshal(d.Body, h); err != nil {
		return nil, perr.Errorf(perr.Internal, "cell: corrupt auth history: %v", err)
	}
	return h, nil
}

// maxHistoryTries bounds the attempts to record one authentication in
// an account's history while other attempts keep changing it.
const maxHistoryTries = 8

// recordAttempt records an authentication attempt at now in the history
// h of an account (as read before the attempt): a failure counts one
// more, a success clears the failures. The write is conditional on the
// history read; when another attempt (in this process or another one
// sharing the store) recorded first, the history is read again and the
// attempt recorded on top of it, so that no failure goes uncounted. The
// history is advisory: an attempt that loses maxHistoryTries races in a
// row is not recorded, the others' records stand.
func (a *Authn) recordAttempt(ctx context.Context, c *Cell, accountID string, h *authHistory, ok bool, now time.Time) error {
	for range maxHistoryTries {
		if ok {
			h.LastAuth, h.Failed, h.LastFailed = now.UnixMilli(), 0, 0
		} else {
			h.Failed++
			h.LastFailed = now.UnixMilli()
		}
		err := a.saveHistory(ctx, c, accountID, h)
		if !perr.Is(err, perr.PreconditionFailed) && !perr.Is(err, perr.Exist) && !perr.Is(err, perr.NotExist) {
			return err
		}
		if h, err = a.history(ctx, c, accountID); err != nil {
			return err
		}
	}
	return nil
}

// saveHistory writes h if the stored history is still the one h was read
// from (PreconditionFailed, Exist or NotExist otherwise).
func (a *Authn) saveHistory(ctx context.Context, c *Cell, accountID string, h *authHistory) error {
	body, _ := json.Marshal(h)
	now := a.now().UnixMilli()
	if h.doc == nil {
		_, err := a.Cells.Store.Apply(ctx, metastore.Op{Type: metastore.Create, Doc: metastore.Doc{
			ID: a.Cells.NewID(), Kind: KindAuthHistory, Cell: c.ID, Key: accountID, Body: body, Published: now, Updated: now}})
		return err
	}
	d := *h.doc
	d.Body, d.Updated = body, now
	_, err := a.Cells.Store.Apply(ctx, metastore.Op{Type: metastore.Update, Doc: d, IfVersion: h.doc.Version})
	return err
}

// ipAllowed checks a remote address against an account's IPAddressRange
// (a comma-separated list of IPv4 addresses and CIDRs; empty allows all).
func ipAllowed(ranges any, remote string) bool {
	s, _ := ranges.(string)
	if s == "" {
		return true
	}
	host, _, err := net.SplitHostPort(remote)
	if err != nil {
		host = remote
	}
	ip := net.ParseIP(host)
	if ip == nil {
		return false
	}
	for _, r := range strings.Split(s, ",") {
		r = strings.TrimSpace(r)
		if !strings.Contains(r, "/") {
			if other := net.ParseIP(r); other != nil && other.Equal(ip) {
				return true
			}
			continue
		}
		if _, n, err := net.ParseCIDR(r); err == nil && n.Contains(ip) {
			return true
		}
	}
	return false
}
