package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"time"

	"golang.org/x/net/webdav"
)

// A target is one WebDAV server under test, running as a child process.
type target struct {
	name string    // as printed in the tables
	box  string    // URL of the collection the files go in, ending in /
	auth string    // value of the Authorization header of every request
	cmd  *exec.Cmd // the server process, started
	log  string    // file with the process's stdout and stderr
}

// stop ends the server process by its PID: SIGTERM, then SIGKILL if it
// is still running 10 s later.
func (t *target) stop() {
	_ = t.cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan struct{})
	go func() {
		_ = t.cmd.Wait()
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		_ = t.cmd.Process.Kill()
		<-done
	}
}

// logSummary returns how many lines the server wrote to its log and the
// first of them, or "" if it wrote nothing.
func (t *target) logSummary() string {
	b, _ := os.ReadFile(t.log)
	b = bytes.TrimSpace(b)
	if len(b) == 0 {
		return ""
	}
	first, _, _ := bytes.Cut(b, []byte("\n"))
	return fmt.Sprintf("%s wrote %d log lines, the first: %s", t.name, bytes.Count(b, []byte("\n"))+1, first)
}

// start starts cmd with its output going to the file path.
func start(cmd *exec.Cmd, path string) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	defer f.Close() // the child has its own descriptor
	cmd.Stdout, cmd.Stderr = f, f
	return cmd.Start()
}

// failed stops t and returns err with what the server logged.
func (t *target) failed(err error) error {
	t.stop()
	b, _ := os.ReadFile(t.log)
	if len(b) > 2048 {
		b = b[len(b)-2048:]
	}
	return fmt.Errorf("%s: %w; server log:\n%s", t.name, err, b)
}

// clockTicks is the unit of the times in /proc/PID/stat (USER_HZ, which
// Linux fixes at 100 on every architecture Go supports).
const clockTicks = 100

// cpu returns the user plus system CPU time the server process has used
// so far, or 0 where /proc is not readable.
func (t *target) cpu() time.Duration {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(t.cmd.Process.Pid) + "/stat")
	if err != nil {
		return 0
	}
	// The command name, in parentheses, may hold spaces: count the
	// fields after it. utime and stime are fields 14 and 15 of proc(5),
	// the 12th and 13th after the name.
	rest := b[bytes.LastIndexByte(b, ')')+1:]
	f := strings.Fields(string(rest))
	if len(f) < 13 {
		return 0
	}
	utime, _ := strconv.ParseInt(f[11], 10, 64)
	stime, _ := strconv.ParseInt(f[12], 10, 64)
	return time.Duration(utime+stime) * time.Second / clockTicks
}

// startPersonium starts `personium serve` on a free loopback port with the
// fresh data folder data, encrypting file bodies or not, and sets up the
// cell "bench" whose main box the returned target writes to.
//
// With beeURL set, the server keeps file bodies on that Bee node
// (--store bee) with postage batch beeBatch.
func startPersonium(ctx context.Context, bin, data string, encrypt bool, beeURL, beeBatch string) (*target, error) {
	addr, err := freeAddr()
	if err != nil {
		return nil, err
	}
	tok := make([]byte, 16)
	_, _ = rand.Read(tok)
	token := hex.EncodeToString(tok)
	cmd := exec.Command(bin, "serve", "--listen", addr, "--data", data, "--master-token", token,
		"--encrypt="+strconv.FormatBool(encrypt), "--log-level", "warn")
	if beeURL != "" {
		cmd.Args = append(cmd.Args, "--store", "bee", "--bee-url", beeURL, "--bee-batch", beeBatch)
	}
	if err := start(cmd, data+".log"); err != nil {
		return nil, err
	}
	name := "personium enc=off"
	if encrypt {
		name = "personium enc=on"
	}
	if beeURL != "" {
		name += " bee"
	}
	unit := "http://" + addr + "/"
	t := &target{name: name, box: unit + "bench/__/", auth: "Bearer " + token, cmd: cmd, log: data + ".log"}
	if err := waitReady(ctx, unit); err != nil {
		return nil, t.failed(err)
	}
	if err := setUpBox(ctx, unit, t.auth); err != nil {
		return nil, t.failed(err)
	}
	return t, nil
}

// setUpBox makes the cell "bench" with the account "user" (password
// "password1") whose role "editor" holds D:all on the main box, as
// compat-tests/clients/lib.sh does, so that both the master token and
// Basic user:password1 may read and write {unit}bench/__/.
func setUpBox(ctx context.Context, unit, auth string) error {
	cell := unit + "bench/"
	steps := []struct {
		method, url, body string
		credential        string // X-Personium-Credential, when not empty
	}{
		{"POST", unit + "__ctl/Cell", `{"Name":"bench"}`, ""},
		{"POST", cell + "__ctl/Account", `{"Name":"user"}`, "password1"},
		{"POST", cell + "__ctl/Role", `{"Name":"editor"}`, ""},
		{"POST", cell + "__ctl/Account('user')/$links/_Role", `{"uri":"` + cell + `__ctl/Role(Name='editor',_Box.Name=null)"}`, ""},
		{"ACL", cell + "__/", `<D:acl xmlns:D="DAV:" xml:base="` + cell + `__role/__/"><D:ace><D:principal><D:href>editor</D:href></D:principal><D:grant><D:privilege><D:all/></D:privilege></D:grant></D:ace></D:acl>`, ""},
	}
	for _, s := range steps {
		req, err := http.NewRequestWithContext(ctx, s.method, s.url, strings.NewReader(s.body))
		if err != nil {
			return err
		}
		req.Header.Set("Authorization", auth)
		if s.method == "ACL" {
			req.Header.Set("Content-Type", "application/xml")
		} else {
			req.Header.Set("Content-Type", "application/json")
		}
		if s.credential != "" {
			req.Header.Set("X-Personium-Credential", s.credential)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return fmt.Errorf("set-up %s %s: %w", s.method, s.url, err)
		}
		msg, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<10))
		resp.Body.Close()
		if resp.StatusCode >= 300 {
			return fmt.Errorf("set-up %s %s: %s %s", s.method, s.url, resp.Status, msg)
		}
	}
	return nil
}

// startBaseline re-executes this binary with -serve-baseline to serve
// x/net/webdav on the folder dir, created if need be, from a free
// loopback port.
func startBaseline(ctx context.Context, dir string) (*target, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	self, err := os.Executable()
	if err != nil {
		return nil, err
	}
	addr, err := freeAddr()
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(self, "-serve-baseline", dir, "-listen", addr)
	if err := start(cmd, dir+".log"); err != nil {
		return nil, err
	}
	// The baseline checks no credentials; the header is sent anyway so
	// that requests have the same size.
	t := &target{name: "x/net/webdav (disk)", box: "http://" + addr + "/", auth: "Bearer none", cmd: cmd, log: dir + ".log"}
	if err := waitReady(ctx, t.box); err != nil {
		return nil, t.failed(err)
	}
	return t, nil
}

// serveBaseline serves a bare webdav.Handler over webdav.Dir(dir) with an
// in-memory lock system on addr, until the process is signalled.
func serveBaseline(dir, addr string) error {
	if addr == "" {
		return fmt.Errorf("-listen is required with -serve-baseline")
	}
	h := &webdav.Handler{FileSystem: webdav.Dir(dir), LockSystem: webdav.NewMemLS()}
	return http.ListenAndServe(addr, h)
}

// waitReady polls url until the server gives any HTTP answer.
func waitReady(ctx context.Context, url string) error {
	deadline := time.Now().Add(20 * time.Second)
	for {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		if err != nil {
			return err
		}
		resp, err := http.DefaultClient.Do(req)
		if err == nil {
			resp.Body.Close()
			return nil
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("no answer from %s within 20 s: %w", url, err)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// freeAddr returns a loopback address with a port that was free a moment
// ago.
func freeAddr() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer l.Close()
	return l.Addr().String(), nil
}
