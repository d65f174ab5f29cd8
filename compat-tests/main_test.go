// Package compattests is a black-box scenario suite for the Personium HTTP
// API. It is a pure client: it talks HTTP to a unit and imports nothing from
// the server it tests, so it can be pointed at any Personium-compatible unit.
//
// Run it with
//
//	go test ./compat-tests/
//
// Without configuration the suite builds ./cmd/personium from the module
// root, starts it on a free loopback port with a fresh data folder and a
// random master token, and stops it at the end. To test a running unit
// instead, set
//
//	PERSONIUM_TEST_URL           the unit URL, e.g. http://127.0.0.1:8080/
//	PERSONIUM_TEST_MASTER_TOKEN  its unit master token
//
// The unit must use path-based cell URLs ({unit}{cell}/). Every scenario
// creates its own uniquely named cells and deletes them recursively at the
// end.
//
// Expectations follow Personium's documented and implemented behaviour
// (personium/personium-core v1.8.x and its jersey integration tests); where
// the source differs from the docs, the source wins and the test cites it.
package compattests

import (
	"bufio"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// The unit under test, set up by TestMain.
var (
	unitURL     string // with trailing slash
	masterToken string
	ownServer   bool   // true when TestMain started the server itself
	dataDir     string // the data folder of the server TestMain started
)

func TestMain(m *testing.M) {
	os.Exit(runMain(m))
}

func runMain(m *testing.M) int {
	unitURL = os.Getenv("PERSONIUM_TEST_URL")
	masterToken = os.Getenv("PERSONIUM_TEST_MASTER_TOKEN")
	if unitURL != "" {
		if !strings.HasSuffix(unitURL, "/") {
			unitURL += "/"
		}
		if masterToken == "" {
			fmt.Fprintln(os.Stderr, "compat-tests: PERSONIUM_TEST_URL is set but PERSONIUM_TEST_MASTER_TOKEN is not")
			return 1
		}
		return m.Run()
	}
	srv, err := startServer()
	if err != nil {
		fmt.Fprintf(os.Stderr, "compat-tests: FAIL: cannot start the server under test: %v\n", err)
		return 1
	}
	ownServer = true
	unitURL, masterToken, dataDir = srv.unit, srv.token, filepath.Join(srv.dir, "data")
	code := m.Run()
	if err := srv.stop(); err != nil {
		fmt.Fprintf(os.Stderr, "compat-tests: stopping the server: %v\n", err)
	}
	if code != 0 {
		fmt.Fprintf(os.Stderr, "compat-tests: last lines of the server log:\n%s\n", srv.logTail(40))
	}
	os.RemoveAll(srv.dir)
	return code
}

// server is a personium process started by TestMain.
type server struct {
	dir     string // temporary folder: binary, data, log
	unit    string
	token   string
	cmd     *exec.Cmd
	exited  chan error
	logPath string
}

// startServer builds ./cmd/personium from the module root (the parent of
// this package's folder), starts it on a free loopback port and waits until
// GET / answers.
func startServer() (*server, error) {
	root, err := filepath.Abs("..")
	if err != nil {
		return nil, err
	}
	if _, err := os.Stat(filepath.Join(root, "go.mod")); err != nil {
		return nil, fmt.Errorf("module root not found at %s (run the suite from its own folder): %v", root, err)
	}
	if _, err := os.Stat(filepath.Join(root, "cmd", "personium")); err != nil {
		return nil, fmt.Errorf("the server command %s does not exist yet; nothing to test (or set PERSONIUM_TEST_URL)",
			filepath.Join(root, "cmd", "personium"))
	}
	dir, err := os.MkdirTemp("", "personium-compat-")
	if err != nil {
		return nil, err
	}
	fail := func(err error) (*server, error) {
		os.RemoveAll(dir)
		return nil, err
	}
	bin := filepath.Join(dir, "personium")
	goTool := "go"
	if p, err := exec.LookPath("go"); err == nil {
		goTool = p
	}
	build := exec.Command(goTool, "build", "-o", bin, "./cmd/personium")
	build.Dir = root
	if out, err := build.CombinedOutput(); err != nil {
		return fail(fmt.Errorf("go build ./cmd/personium failed: %v\n%s", err, out))
	}
	port, err := freePort()
	if err != nil {
		return fail(err)
	}
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	token := "compat-" + randomHex(16)
	// COMPAT_SERVE_FLAGS adds server flags (.ci/bee.sh runs the WebDAV
	// scenarios with --store bee).
	flags := append([]string{"--master-token", token, "--gc-interval", "200ms"}, strings.Fields(os.Getenv("COMPAT_SERVE_FLAGS"))...)
	s, err := startServerProcess(bin, dir, addr, flags)
	if err != nil {
		return fail(fmt.Errorf("starting %s: %v", bin, err))
	}
	s.token = token
	return s, nil
}

// waitReady polls GET {unit} until any HTTP answer arrives.
func (s *server) waitReady(timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	client := &http.Client{Timeout: time.Second}
	for time.Now().Before(deadline) {
		select {
		case err := <-s.exited:
			s.exited <- err
			return fmt.Errorf("the server exited during start-up: %v", err)
		default:
		}
		resp, err := client.Get(s.unit)
		if err == nil {
			resp.Body.Close()
			return nil
		}
		time.Sleep(100 * time.Millisecond)
	}
	return fmt.Errorf("the server did not answer GET %s within %v", s.unit, timeout)
}

// stop sends SIGTERM to the server's PID, then kills it after 10 s.
func (s *server) stop() error {
	if s.cmd == nil || s.cmd.Process == nil {
		return nil
	}
	select {
	case <-s.exited:
		return nil
	default:
	}
	if err := s.cmd.Process.Signal(syscall.SIGTERM); err != nil && !errors.Is(err, os.ErrProcessDone) {
		return err
	}
	select {
	case <-s.exited:
		return nil
	case <-time.After(10 * time.Second):
	}
	if err := s.cmd.Process.Kill(); err != nil && !errors.Is(err, os.ErrProcessDone) {
		return err
	}
	<-s.exited
	return errors.New("the server ignored SIGTERM for 10 s and was killed")
}

// logTail returns the last n lines of the server log.
func (s *server) logTail(n int) string {
	f, err := os.Open(s.logPath)
	if err != nil {
		return "(no log: " + err.Error() + ")"
	}
	defer f.Close()
	var lines []string
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64*1024), 1024*1024)
	for sc.Scan() {
		lines = append(lines, sc.Text())
		if len(lines) > n {
			lines = lines[1:]
		}
	}
	return strings.Join(lines, "\n")
}

// withoutPersoniumEnv drops PERSONIUM_* variables so that the caller's
// environment cannot change the server's configuration.
func withoutPersoniumEnv(env []string) []string {
	out := env[:0:0]
	for _, kv := range env {
		if !strings.HasPrefix(kv, "PERSONIUM_") {
			out = append(out, kv)
		}
	}
	return out
}

func freePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

func randomHex(n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic(err)
	}
	return hex.EncodeToString(b)
}

// TestServerSourcesAreInputs: the server is built in a child process,
// which go test's result cache cannot see. Opening every source file of the
// module while tests run (TestMain's own file access is not recorded)
// makes a change to the server invalidate a cached result of this suite.
func TestServerSourcesAreInputs(t *testing.T) {
	if !ownServer {
		t.Skip("testing a server at PERSONIUM_TEST_URL")
	}
	root, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	if err := touchSources(root); err != nil {
		t.Fatal(err)
	}
}

// touchSources opens every Go source file and go.mod/go.sum below root,
// which records them as inputs of this test run for go test's cache.
func touchSources(root string) error {
	return filepath.WalkDir(root, func(path string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if name := d.Name(); path != root && (strings.HasPrefix(name, ".") || name == "testdata" || name == "data") {
				return filepath.SkipDir
			}
			return nil
		}
		if name := d.Name(); strings.HasSuffix(name, ".go") || name == "go.mod" || name == "go.sum" || strings.HasSuffix(name, ".txt") {
			f, err := os.Open(path)
			if err != nil {
				return err
			}
			f.Close()
		}
		return nil
	})
}
