// Command personium serves a Personium unit: cells, boxes and their data,
// over the Personium HTTP API.
//
//	personium serve [flags]     run the server
//	personium swarm ref FILE    print a file's Swarm reference
//	personium help [command]    explain a command
package main

import (
	"context"
	"crypto/rand"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/personium-go/personium/internal/auth"
	"github.com/personium-go/personium/internal/cell"
	"github.com/personium-go/personium/internal/metastore"
	_ "github.com/personium-go/personium/internal/metastore/elastic" // --metastore elasticsearch
	_ "github.com/personium-go/personium/internal/metastore/sqlite"  // the embedded default
	"github.com/personium-go/personium/internal/unit"
)

const usage = `personium: a Personal Data Store server speaking the Personium API.

Usage:
  personium serve [flags]   run a unit (see 'personium serve --help')
  personium swarm ref FILE  print the Swarm /bytes reference of a file
  personium swarm push ...  copy a unit's file contents to a Bee node
  personium swarm status .. whether the Swarm network holds a cell's files
  personium help            show this text

Every flag of 'serve' can also be set with an environment variable:
--listen is PERSONIUM_LISTEN, --data is PERSONIUM_DATA, and so on.
`

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	switch args[0] {
	case "serve":
		return serve(args[1:], stdout, stderr)
	case "swarm":
		return swarmCommand(args[1:], stdout, stderr)
	case "help", "-h", "--help", "-help":
		if len(args) > 1 && args[1] == "serve" {
			return serve([]string{"--help"}, stdout, stderr)
		}
		fmt.Fprint(stdout, usage)
		return 0
	}
	fmt.Fprintf(stderr, "personium: unknown command %q\n\n%s", args[0], usage)
	return 2
}

// serveConfig holds the flags of 'serve'.
type serveConfig struct {
	listen       string
	data         string
	unitURL      string
	masterToken  string
	metastore    string
	esURL        string
	esPrefix     string
	newSecrets   bool
	logLevel     string
	trusted      string
	unitUsers    string
	lockCount    int
	lockTime     time.Duration
	store        string
	beeURL       string
	beeBatch     string
	beeFallbacks []string
	introspect   string
	debugListen  string
	engineTime   time.Duration
	engineMemMiB int
	encrypt      bool
	gcInterval   time.Duration
}

// envDefault returns the PERSONIUM_<NAME> variable, or def.
func envDefault(name, def string) string {
	if v, ok := os.LookupEnv("PERSONIUM_" + name); ok {
		return v
	}
	return def
}

// envInt and envDuration read PERSONIUM_<NAME> as a number or a
// duration; a malformed value is reported and the default kept.
func envInt(name string, def int) int {
	v, ok := os.LookupEnv("PERSONIUM_" + name)
	if !ok {
		return def
	}
	n, err := strconv.Atoi(v)
	if err != nil {
		fmt.Fprintf(os.Stderr, "personium: ignoring PERSONIUM_%s=%q: not a number\n", name, v)
		return def
	}
	return n
}

func envDuration(name string, def time.Duration) time.Duration {
	v, ok := os.LookupEnv("PERSONIUM_" + name)
	if !ok {
		return def
	}
	d, err := time.ParseDuration(v)
	if err != nil {
		fmt.Fprintf(os.Stderr, "personium: ignoring PERSONIUM_%s=%q: not a duration\n", name, v)
		return def
	}
	return d
}

func serveFlags(stderr io.Writer) (*flag.FlagSet, *serveConfig) {
	c := &serveConfig{}
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&c.listen, "listen", envDefault("LISTEN", "127.0.0.1:8080"), "`address` to listen on (PERSONIUM_LISTEN)")
	fs.StringVar(&c.data, "data", envDefault("DATA", "./data"), "`folder` for the process's state: keys, the master token, the SQLite metadata store (not with --metastore elasticsearch) and file chunks (with --store local) (PERSONIUM_DATA)")
	fs.StringVar(&c.unitURL, "unit-url", envDefault("UNIT_URL", ""), "public `URL` of the unit, ending in /; default http://<listen>/ (PERSONIUM_UNIT_URL)")
	fs.StringVar(&c.masterToken, "master-token", envDefault("MASTER_TOKEN", ""), "unit master `token`; when empty, one is generated on first start, kept in <data>/master-token and printed once (PERSONIUM_MASTER_TOKEN)")
	fs.StringVar(&c.metastore, "metastore", envDefault("METASTORE", "sqlite"), "metadata store `backend`: sqlite (embedded, one file in the data folder) or elasticsearch (a cluster several serve processes may share, with --store bee for the file bodies; see --es-url, which alone implies elasticsearch) (PERSONIUM_METASTORE)")
	fs.StringVar(&c.esURL, "es-url", envDefault("ES_URL", ""), "Elasticsearch `URLs` of --metastore elasticsearch, comma-separated, e.g. http://127.0.0.1:9200 (user:password@ for basic authentication; ?timeout=10s bounds each request, &wait=1m how long to wait at start for the cluster) (PERSONIUM_ES_URL)")
	fs.StringVar(&c.esPrefix, "es-index-prefix", envDefault("ES_INDEX_PREFIX", "personium"), "`prefix` of the Elasticsearch index names (<prefix>-docs, -claims, -intents); units sharing a cluster need different ones (PERSONIUM_ES_INDEX_PREFIX)")
	fs.BoolVar(&c.newSecrets, "new-unit-secrets", envDefault("NEW_UNIT_SECRETS", "") == "true", "on a shared metadata store (--metastore elasticsearch), make this process's token key, unit key, certificate and master token the unit's (a process whose secrets differ from those the unit's first process recorded refuses to start); only for a key rotation, after stopping every process of the unit and replacing the files in each; never to start a new unit on another unit's --es-index-prefix (PERSONIUM_NEW_UNIT_SECRETS=true)")
	fs.StringVar(&c.trusted, "trusted-certs", envDefault("TRUSTED_CERTS", ""), "comma-separated PEM `files` with certificates of other units whose transcell tokens this unit accepts; its own key is always trusted (PERSONIUM_TRUSTED_CERTS)")
	fs.StringVar(&c.unitUsers, "unit-user-issuers", envDefault("UNIT_USER_ISSUERS", ""), "space- or comma-separated cell `URLs` whose transcell tokens aimed at the unit URL make unit users (personium-localunit:/cell/ allowed); their main-box role UnitAdmin makes unit administrators (PERSONIUM_UNIT_USER_ISSUERS)")
	fs.IntVar(&c.lockCount, "account-lock-count", envInt("ACCOUNT_LOCK_COUNT", 0), "failed password attempts in a row that lock an account; 0: no lock beyond the one second after each failure (PERSONIUM_ACCOUNT_LOCK_COUNT)")
	fs.DurationVar(&c.lockTime, "account-lock-time", envDuration("ACCOUNT_LOCK_TIME", 30*time.Minute), "how long a locked account stays locked (PERSONIUM_ACCOUNT_LOCK_TIME)")
	fs.StringVar(&c.introspect, "introspect-user", envDefault("INTROSPECT_USER", ""), "`user:password` that may call every cell's __introspect with HTTP Basic (PERSONIUM_INTROSPECT_USER)")
	fs.StringVar(&c.store, "store", envDefault("STORE", "local"), "content `store` for file bodies: local (Swarm chunks in <data>/chunks) or bee (chunks on the Bee node of --bee-url) (PERSONIUM_STORE)")
	fs.StringVar(&c.beeURL, "bee-url", envDefault("BEE_URL", ""), "API URL of the Bee node of --store bee, e.g. http://127.0.0.1:1633 (PERSONIUM_BEE_URL)")
	fs.Func("bee-fallback", "API URL of a Bee node or gateway that reads of --store bee try when the primary node fails; repeat for more, tried in order (PERSONIUM_BEE_FALLBACK: comma-separated)", func(v string) error {
		c.beeFallbacks = append(c.beeFallbacks, v)
		return nil
	})
	fs.StringVar(&c.beeBatch, "bee-batch", envDefault("BEE_BATCH", ""), "postage batch ID (64 hex digits) that stamps the chunks of --store bee (PERSONIUM_BEE_BATCH)")
	fs.BoolVar(&c.encrypt, "encrypt", envDefault("ENCRYPT", "true") != "false", "encrypt file bodies chunk by chunk, as Swarm does (64-byte references whose keys stay in the metadata store); --encrypt=false stores plain chunks (PERSONIUM_ENCRYPT)")
	fs.DurationVar(&c.gcInterval, "gc-interval", envDuration("GC_INTERVAL", 10*time.Minute), "how often unreferenced content chunks are collected, when files were deleted or overwritten since the last run; 0: never (PERSONIUM_GC_INTERVAL)")
	fs.IntVar(&c.engineMemMiB, "engine-memory", envInt("ENGINE_MEMORY", 1024), "MiB the heap may grow by during one service script call before the call is stopped with 503 (PERSONIUM_ENGINE_MEMORY)")
	fs.DurationVar(&c.engineTime, "engine-timeout", envDuration("ENGINE_TIMEOUT", 30*time.Second), "wall-time limit of one service script call; a script over it answers 503 (PERSONIUM_ENGINE_TIMEOUT)")
	fs.StringVar(&c.debugListen, "debug-listen", envDefault("DEBUG_LISTEN", ""), "`address` of a second listener serving Go's profiler (/debug/pprof/); off when empty; keep it on loopback (PERSONIUM_DEBUG_LISTEN)")
	fs.StringVar(&c.logLevel, "log-level", envDefault("LOG_LEVEL", "info"), "log `level`: debug, info, warn, error (PERSONIUM_LOG_LEVEL)")
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), "Usage: personium serve [flags]\n\nRuns a Personium unit with path-based cell URLs ({unit}{cell}/).\nStops gracefully on SIGINT or SIGTERM.\n\nFlags:\n")
		fs.PrintDefaults()
	}
	return fs, c
}

func serve(args []string, stdout, stderr io.Writer) int {
	fs, c := serveFlags(stderr)
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "personium serve: unexpected arguments %v\n", fs.Args())
		return 2
	}
	// --es-url alone means Elasticsearch; with an explicit sqlite it is a
	// mistake (two processes would each serve a unit of their own).
	explicit := false
	fs.Visit(func(f *flag.Flag) { explicit = explicit || f.Name == "metastore" })
	if _, ok := os.LookupEnv("PERSONIUM_METASTORE"); ok {
		explicit = true
	}
	if c.esURL != "" && !explicit {
		c.metastore = "elasticsearch"
	}
	if c.esURL != "" && c.metastore == "sqlite" {
		fmt.Fprintf(stderr, "personium serve: --es-url (PERSONIUM_ES_URL) is for --metastore elasticsearch, not sqlite\n")
		return 2
	}
	if len(c.beeFallbacks) == 0 {
		for _, u := range strings.Split(os.Getenv("PERSONIUM_BEE_FALLBACK"), ",") {
			if u = strings.TrimSpace(u); u != "" {
				c.beeFallbacks = append(c.beeFallbacks, u)
			}
		}
	}
	var level slog.Level
	if err := level.UnmarshalText([]byte(c.logLevel)); err != nil {
		fmt.Fprintf(stderr, "personium serve: bad --log-level %q\n", c.logLevel)
		return 2
	}
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: level}))
	slog.SetDefault(log)
	if err := runServer(c, log, stdout); err != nil {
		log.Error("server stopped", "err", err)
		return 1
	}
	return 0
}

// metaSource says where a unit's metadata is: the SQLite file in its
// data folder, or Elasticsearch.
type metaSource struct{ data, esURL, esPrefix string }

func (m metaSource) open(ctx context.Context) (metastore.Store, error) {
	if m.esURL == "" {
		return metastore.Open(ctx, "sqlite", filepath.Join(m.data, "metadata.db"))
	}
	sep := "?"
	if _, q, ok := strings.Cut(m.esURL, "?"); ok {
		if v, err := url.ParseQuery(q); err == nil && v.Has("prefix") {
			return nil, fmt.Errorf("--es-url: give the index prefix with --es-index-prefix, not prefix= in the URL")
		}
		sep = "&"
	}
	return metastore.Open(ctx, "elasticsearch", m.esURL+sep+"prefix="+url.QueryEscape(m.esPrefix))
}

func runServer(c *serveConfig, log *slog.Logger, stdout io.Writer) error {
	start := time.Now()
	if err := os.MkdirAll(c.data, 0o700); err != nil {
		return fmt.Errorf("data folder: %w", err)
	}
	token, generated, err := masterToken(c.masterToken, c.data)
	if err != nil {
		return err
	}
	if generated {
		fmt.Fprintf(stdout, "Generated unit master token (kept in %s):\n%s\n", filepath.Join(c.data, "master-token"), token)
	}
	ln, err := net.Listen("tcp", c.listen)
	if err != nil {
		return err
	}
	unitURL := c.unitURL
	if unitURL == "" {
		unitURL = "http://" + ln.Addr().String() + "/"
	}
	if !strings.HasSuffix(unitURL, "/") {
		unitURL += "/"
	}
	ctx := context.Background()
	src := metaSource{data: c.data}
	switch c.metastore {
	case "sqlite":
	case "elasticsearch":
		if c.esURL == "" {
			ln.Close()
			return fmt.Errorf("--metastore elasticsearch needs --es-url")
		}
		src.esURL, src.esPrefix = c.esURL, c.esPrefix
	default:
		ln.Close()
		return fmt.Errorf("unknown --metastore %q (have sqlite, elasticsearch)", c.metastore)
	}
	store, err := src.open(ctx)
	if err != nil {
		ln.Close()
		return err
	}
	defer store.Close()
	if c.metastore == "sqlite" {
		// The data folder is this process's alone (the content store locks
		// it), so every write goes through here and reads may be cached.
		store = metastore.NewCache(store, 100_000)
	}
	cells := cell.NewManager(store)
	cells.UnitURL = unitURL
	// Other processes may share an Elasticsearch store: no cell cache,
	// and user schemas are trusted for a short while only.
	shared := c.metastore != "sqlite"
	cells.SharedStore = shared
	var schemaTTL time.Duration
	if shared {
		schemaTTL = 2 * time.Second
		if c.store == "local" {
			log.Warn("file bodies stay in this process's data folder (--store local): other processes sharing the metadata list these files but cannot read them; use --store bee for several processes")
		}
	}
	if err := cells.EnsureIndexes(ctx); err != nil {
		ln.Close()
		return fmt.Errorf("indexes: %w", err)
	}
	authn, tokenKey, err := newAuthn(c, cells, unitURL)
	if err != nil {
		ln.Close()
		return err
	}
	if shared {
		if err := checkUnitSecrets(ctx, store, log, newUnitSecrets(tokenKey, authn.Key, token, unitURL), c.newSecrets); err != nil {
			ln.Close()
			return err
		}
	}
	introUser, introPass, _ := strings.Cut(c.introspect, ":")
	if c.introspect != "" && (introUser == "" || introPass == "") {
		ln.Close()
		return fmt.Errorf("--introspect-user must be user:password")
	}
	ct, err := openContent(ctx, c, store, log)
	if err != nil {
		ln.Close()
		return err
	}
	go ct.run()
	defer ct.close()
	davh, err := ct.davHandler(ctx, c.encrypt, cells)
	if err != nil {
		ln.Close()
		return fmt.Errorf("indexes: %w", err)
	}
	h, err := unit.New(unit.Config{UnitURL: unitURL, MasterToken: token, Cells: cells, Logger: log,
		Authn: authn, Authorizer: unit.ACLAuthorizer{Cells: cells}, UnitUserIssuers: unitUserIssuers(c.unitUsers, unitURL),
		DAV: davh, IntrospectUser: introUser, IntrospectPassword: introPass, EngineTimeout: c.engineTime,
		EngineMemory: uint64(max(c.engineMemMiB, 1)) << 20, SchemaCacheTTL: schemaTTL})
	if err != nil {
		ln.Close()
		return err
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 30 * time.Second, MaxHeaderBytes: unit.MaxHeaderBytes,
		ErrorLog: slog.NewLogLogger(log.Handler(), slog.LevelWarn)}
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ln) }()
	if c.debugListen != "" {
		stop, err := serveDebug(c.debugListen, log)
		if err != nil {
			srv.Close()
			return err
		}
		defer stop()
	}
	log.Info("serving", "unit", unitURL, "listen", ln.Addr().String(), "metastore", c.metastore, "data", c.data,
		"store", c.store, "encrypt", c.encrypt, "startup", time.Since(start).Round(time.Millisecond))

	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGINT, syscall.SIGTERM)
	select {
	case err := <-done:
		return err
	case s := <-sig:
		log.Info("shutting down", "signal", s.String())
	}
	sctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		return err
	}
	return nil
}

// masterToken returns the configured token, or the one kept in the data
// folder, or a new one (then generated is true).
func masterToken(flagValue, data string) (token string, generated bool, err error) {
	if flagValue != "" {
		return flagValue, false, nil
	}
	path := filepath.Join(data, "master-token")
	if b, err := os.ReadFile(path); err == nil {
		if t := strings.TrimSpace(string(b)); t != "" {
			return t, false, nil
		}
	} else if !errors.Is(err, os.ErrNotExist) {
		return "", false, err
	}
	raw := make([]byte, 32)
	if _, err := rand.Read(raw); err != nil {
		return "", false, err
	}
	token = base64.RawURLEncoding.EncodeToString(raw)
	if err := os.WriteFile(path, []byte(token+"\n"), 0o600); err != nil {
		return "", false, fmt.Errorf("saving master token: %w", err)
	}
	return token, true, nil
}

// newAuthn loads (or creates) the unit's token key and signing key from
// the data folder and the trusted certificates of other units. It
// returns the token key too.
func newAuthn(c *serveConfig, cells *cell.Manager, unitURL string) (*cell.Authn, []byte, error) {
	tokenKey, err := auth.LoadOrCreateTokenKey(c.data, rand.Reader)
	if err != nil {
		return nil, nil, fmt.Errorf("token key: %w", err)
	}
	sealer, err := auth.NewSealer(tokenKey)
	if err != nil {
		return nil, nil, err
	}
	key, err := auth.LoadOrCreateUnitKey(c.data, unitURL, rand.Reader, time.Now())
	if err != nil {
		return nil, nil, fmt.Errorf("unit key: %w", err)
	}
	trust := &auth.TrustStore{Certs: []*x509.Certificate{key.Cert}}
	for _, f := range strings.Split(c.trusted, ",") {
		if f = strings.TrimSpace(f); f == "" {
			continue
		}
		certs, err := readCerts(f)
		if err != nil {
			return nil, nil, fmt.Errorf("--trusted-certs %s: %w", f, err)
		}
		trust.Certs = append(trust.Certs, certs...)
	}
	return &cell.Authn{Cells: cells, Sealer: sealer, Key: key, Trust: trust, UnitURL: unitURL,
		LockCount: c.lockCount, LockTime: c.lockTime}, tokenKey, nil
}

// readCerts reads every CERTIFICATE block of a PEM file.
func readCerts(path string) ([]*x509.Certificate, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var out []*x509.Certificate
	for {
		var blk *pem.Block
		blk, b = pem.Decode(b)
		if blk == nil {
			break
		}
		if blk.Type != "CERTIFICATE" {
			continue
		}
		cert, err := x509.ParseCertificate(blk.Bytes)
		if err != nil {
			return nil, err
		}
		out = append(out, cert)
	}
	if len(out) == 0 {
		return nil, errors.New("no CERTIFICATE in the file")
	}
	return out, nil
}

// unitUserIssuers parses --unit-user-issuers: cell URLs, with
// personium-localunit:/cell/ meaning a cell of this unit.
func unitUserIssuers(list, unitURL string) []string {
	var out []string
	for _, f := range strings.FieldsFunc(list, func(r rune) bool { return r == ',' || r == ' ' }) {
		if rest, ok := strings.CutPrefix(f, "personium-localunit:"); ok {
			f = unitURL + strings.TrimPrefix(rest, "/")
		}
		if !strings.HasSuffix(f, "/") {
			f += "/"
		}
		out = append(out, f)
	}
	return out
}
