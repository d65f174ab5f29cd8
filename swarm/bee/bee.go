// Package bee is a swarm.Store on a Bee node (Swarm's reference client),
// through its HTTP API: chunks go to POST /chunks with a postage batch
// and come back from GET /chunks/{address} (reference swarm.md §1).
//
// The store is a plain net/http client; it never imports bee itself.
// Every chunk Bee accepts is checked: the reference Bee answers must be
// the address we computed, so a file never points at content the
// network holds under another name. Chunks read back are checked by
// swarm.Open (the store is not SelfVerifying: a node may answer
// garbage).
//
// Reads fall back: when the primary node cannot give a chunk (it is
// down, slow, or does not have it), the fallback nodes are asked in
// order, each within its time limit; they are only read from. Stats says
// which source served how many chunks.
//
// Retrievable reports whether the network (not only this node) holds a
// file's content (GET /stewardship).
//
// UploadBytes and Bytes are the node's own /bytes API (one request per
// file; unencrypted references checked against ours); the WebDAV
// service stores through /chunks, so that encrypted content keeps the
// keys and references this server chose.
package bee

import (
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/personium-go/personium/internal/perr"
	"github.com/personium-go/personium/swarm"
)

// Store is a swarm.Store on the Bee node at URL, stamping chunks with
// Batch. It is safe for concurrent use.
type Store struct {
	url       string   // base URL without a trailing slash
	batch     string   // postage batch ID, 64 hex digits
	fallbacks []string // read-only nodes, tried in order after url
	readLimit time.Duration
	hc        *http.Client
	log       *slog.Logger

	tagMu sync.Mutex
	tag   string // the upload tag chunks are attached to (Bee's dev mode requires one)

	served []atomic.Int64 // chunks served, by source: url, then fallbacks
}

// Options tune a Store.
type Options struct {
	// Fallbacks are Bee API URLs (other nodes, gateways that expose
	// /chunks) that reads try, in order, when the primary node fails.
	Fallbacks []string
	// ReadTimeout bounds one chunk read from one node (default 10 s), so
	// that a slow node hands over to the next.
	ReadTimeout time.Duration
	// HTTP is the client (default: a 60 s timeout per request).
	HTTP *http.Client
	// Log receives a warning when a fallback serves (default: discard).
	Log *slog.Logger
}

var (
	_ swarm.Store    = (*Store)(nil)
	_ swarm.Parallel = (*Store)(nil)
)

// Parallelism is how many chunk requests uploads and reads keep in
// flight: each waits on an HTTP round trip to the node.
func (s *Store) Parallelism() int { return 16 }

// maxErrorBody bounds what is read of an error answer.
const maxErrorBody = 4 << 10

// New returns a store on the Bee node at url with postage batch batch.
func New(url, batch string, opts Options) (*Store, error) {
	if b, err := hex.DecodeString(batch); err != nil || len(b) != 32 {
		return nil, perr.Errorf(perr.Invalid, "bee: postage batch %q is not 64 hex digits", batch)
	}
	s := &Store{batch: strings.ToLower(batch), hc: opts.HTTP, readLimit: opts.ReadTimeout, log: opts.Log}
	for i, u := range append([]string{url}, opts.Fallbacks...) {
		if !strings.HasPrefix(u, "http://") && !strings.HasPrefix(u, "https://") {
			return nil, perr.Errorf(perr.Invalid, "bee: node URL %q is not http(s)", u)
		}
		if i == 0 {
			s.url = strings.TrimSuffix(u, "/")
		} else {
			s.fallbacks = append(s.fallbacks, strings.TrimSuffix(u, "/"))
		}
	}
	if s.hc == nil {
		s.hc = &http.Client{Timeout: 60 * time.Second}
	}
	if s.readLimit <= 0 {
		s.readLimit = 10 * time.Second
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	s.served = make([]atomic.Int64, 1+len(s.fallbacks))
	return s, nil
}

// Source is one node and how many chunks it served.
type Source struct {
	URL    string
	Served int64
}

// Stats reports, for the primary node and each fallback in order, how
// many chunks it served.
func (s *Store) Stats() []Source {
	out := make([]Source, len(s.served))
	for i := range s.served {
		u := s.url
		if i > 0 {
			u = s.fallbacks[i-1]
		}
		out[i] = Source{URL: u, Served: s.served[i].Load()}
	}
	return out
}

// Stamp is what the node says of the store's postage batch.
type Stamp struct {
	BatchID     string `json:"batchID"`
	Utilization uint32 `json:"utilization"`
	Usable      bool   `json:"usable"`
	Depth       uint8  `json:"depth"`
	BucketDepth uint8  `json:"bucketDepth"`
	Immutable   bool   `json:"immutableFlag"`
	TTL         int64  `json:"batchTTL"` // seconds
}

// Capacity is how many chunks the batch can stamp in all (2^depth).
func (s *Stamp) Capacity() uint64 { return 1 << s.Depth }

// Lifetime is the batch's remaining time to live (Bee's batchTTL, in
// seconds; bee dev reports values past what a Duration holds).
func (s *Stamp) Lifetime() time.Duration {
	const most = int64(math.MaxInt64 / int64(time.Second))
	if s.TTL > most || s.TTL < 0 {
		return time.Duration(most) * time.Second
	}
	return time.Duration(s.TTL) * time.Second
}

// Used is the fraction of the batch used: Bee's utilization counts the
// chunks in the fullest of the batch's 2^bucketDepth buckets, and the
// batch is full when that bucket is (2^(depth-bucketDepth) chunks).
func (s *Stamp) Used() float64 {
	if s.Depth < s.BucketDepth {
		return 1
	}
	return float64(s.Utilization) / float64(uint64(1)<<(s.Depth-s.BucketDepth))
}

// Stamp asks the node about the store's batch (GET /stamps/{id}): a
// preflight before serving, so that a wrong or unusable batch is an
// error at start, not at the first upload.
func (s *Store) Stamp(ctx context.Context) (*Stamp, error) {
	var st Stamp
	if err := s.call(ctx, http.MethodGet, "/stamps/"+s.batch, nil, nil, http.StatusOK, &st); err != nil {
		return nil, err
	}
	if !st.Usable {
		return &st, perr.New("PR503-SW-0002", s.batch)
	}
	if st.Used() >= 1 {
		return &st, perr.New("PR507-SW-0001", s.batch)
	}
	return &st, nil
}

// Put stores chunk (span ‖ payload) under addr: POST /chunks, attached to
// the store's tag. The reference Bee answers must be addr.
func (s *Store) Put(ctx context.Context, addr [swarm.HashSize]byte, chunk []byte) error {
	if len(chunk) < swarm.SpanSize || len(chunk) > swarm.SpanSize+swarm.ChunkSize {
		return perr.Errorf(perr.Invalid, "bee: a chunk of %d bytes", len(chunk))
	}
	tag, err := s.uploadTag(ctx)
	if err != nil {
		return err
	}
	var got struct {
		Reference string `json:"reference"`
	}
	h := http.Header{"Swarm-Postage-Batch-Id": {s.batch}, "Swarm-Tag": {tag}, "Content-Type": {"application/octet-stream"}}
	if err := s.call(ctx, http.MethodPost, "/chunks", h, chunk, http.StatusCreated, &got); err != nil {
		return err
	}
	if want := hex.EncodeToString(addr[:]); !strings.EqualFold(got.Reference, want) {
		return perr.New("PR502-SW-0001", got.Reference, want)
	}
	return nil
}

// Get returns the chunk under addr (GET /chunks/{addr}) from the primary
// node or, when it fails, the first fallback that has it; NotExist when
// every node answered that it does not have it.
func (s *Store) Get(ctx context.Context, addr [swarm.HashSize]byte) ([]byte, error) {
	path := "/chunks/" + hex.EncodeToString(addr[:])
	var first, unavailable error
	absent := true
	for i := range s.served {
		base := s.url
		if i > 0 {
			base = s.fallbacks[i-1]
		}
		rctx, cancel := context.WithTimeout(ctx, s.readLimit)
		var b []byte
		err := s.callAt(rctx, base, http.MethodGet, path, nil, nil, http.StatusOK, &b)
		cancel()
		if err == nil && (len(b) < swarm.SpanSize || len(b) > swarm.SpanSize+swarm.ChunkSize) {
			err = fmt.Errorf("bee: chunk %x of %d bytes from %s: %w", addr[:], len(b), base, swarm.ErrCorrupt)
		}
		if err == nil {
			s.served[i].Add(1)
			if i > 0 {
				s.log.Warn("swarm chunk served by a fallback node", "chunk", hex.EncodeToString(addr[:]),
					"fallback", base, "primary_error", first)
			}
			return b, nil
		}
		if ctx.Err() != nil {
			return nil, perr.Errorf(perr.Unavailable, "bee: %s: %w", path, ctx.Err())
		}
		if first == nil {
			first = err
		}
		if !perr.Is(err, perr.NotExist) {
			absent = false
			if unavailable == nil {
				unavailable = err
			}
		}
	}
	if absent {
		return nil, first
	}
	return nil, unavailable // a node that could not answer may have it
}

// UploadBytes stores the content of r with one POST /bytes: Bee splits
// and stamps it (encrypting with keys of its own when encrypt is set),
// attached to the store's tag, deferred (pushed to the network in the
// background; Bee's dev mode refuses direct uploads). Without encryption
// the reference Bee answers must be the one we compute from the same
// bytes (PR502-SW-0001 otherwise); r is read twice for that.
func (s *Store) UploadBytes(ctx context.Context, r io.ReadSeeker, encrypt bool) (swarm.Reference, error) {
	var want swarm.Reference
	if !encrypt {
		ref, err := swarm.Split(r, func([swarm.HashSize]byte, []byte) error { return nil }, swarm.Options{})
		if err != nil {
			return nil, err
		}
		want = ref
		if _, err := r.Seek(0, io.SeekStart); err != nil {
			return nil, err
		}
	}
	tag, err := s.uploadTag(ctx)
	if err != nil {
		return nil, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.url+"/bytes", r)
	if err != nil {
		return nil, perr.Errorf(perr.Invalid, "bee: %v", err)
	}
	req.Header.Set("Swarm-Postage-Batch-Id", s.batch)
	req.Header.Set("Swarm-Tag", tag)
	req.Header.Set("Swarm-Deferred-Upload", "true")
	req.Header.Set("Swarm-Encrypt", fmt.Sprint(encrypt))
	req.Header.Set("Content-Type", "application/octet-stream")
	resp, err := s.hc.Do(req)
	if err != nil {
		return nil, perr.New("PR503-SW-0001", s.url, err.Error()).WithCause(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusCreated {
		return nil, s.answerError(resp, s.url, http.MethodPost, "/bytes")
	}
	var got struct {
		Reference string `json:"reference"`
	}
	if err := json.NewDecoder(io.LimitReader(resp.Body, maxErrorBody)).Decode(&got); err != nil {
		return nil, perr.New("PR502-SW-0002", resp.Status, "unreadable answer to POST /bytes")
	}
	ref, err := swarm.ParseReference(got.Reference)
	if err != nil || (encrypt && !ref.Encrypted()) || (!encrypt && ref.Encrypted()) {
		return nil, perr.New("PR502-SW-0002", resp.Status, "reference "+got.Reference)
	}
	if want != nil && !bytes.Equal(ref, want) {
		return nil, perr.New("PR502-SW-0001", got.Reference, want.String())
	}
	return ref, nil
}

// Bytes reads the content under ref as the node joins (and, for a
// 64-byte reference, decrypts) it: GET /bytes/{ref}, from byte off on,
// length bytes (-1: to the end) with a Range request. The node is
// trusted with the joining: what it answers is not hash-checked here
// (swarm.Open over the store checks every chunk).
func (s *Store) Bytes(ctx context.Context, ref swarm.Reference, off, length int64) (io.ReadCloser, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, s.url+"/bytes/"+ref.String(), nil)
	if err != nil {
		return nil, perr.Errorf(perr.Invalid, "bee: %v", err)
	}
	want := http.StatusOK
	if off > 0 || length >= 0 {
		end := ""
		if length >= 0 {
			end = fmt.Sprint(off + length - 1)
		}
		req.Header.Set("Range", fmt.Sprintf("bytes=%d-%s", off, end))
		want = http.StatusPartialContent
	}
	resp, err := s.hc.Do(req)
	if err != nil {
		return nil, perr.New("PR503-SW-0001", s.url, err.Error()).WithCause(err)
	}
	if resp.StatusCode != want {
		defer resp.Body.Close()
		if resp.StatusCode == http.StatusNotFound {
			return nil, perr.Errorf(perr.NotExist, "bee: no content at %s", ref)
		}
		return nil, s.answerError(resp, s.url, http.MethodGet, "/bytes/"+ref.String())
	}
	return resp.Body, nil
}

// Retrievable asks the node whether the content under ref can be
// retrieved from the network (GET /stewardship/{ref}): whether its
// chunks have reached the nodes responsible for them, not just this one.
func (s *Store) Retrievable(ctx context.Context, ref swarm.Reference) (bool, error) {
	var st struct {
		IsRetrievable bool `json:"isRetrievable"`
	}
	if err := s.call(ctx, http.MethodGet, "/stewardship/"+ref.String(), nil, nil, http.StatusOK, &st); err != nil {
		return false, err
	}
	return st.IsRetrievable, nil
}

// uploadTag returns the tag chunks are attached to, creating it on first
// use (POST /tags). Bee's dev mode refuses untagged chunk uploads, and a
// tag lets the node report what it has synced.
func (s *Store) uploadTag(ctx context.Context) (string, error) {
	s.tagMu.Lock()
	defer s.tagMu.Unlock()
	if s.tag != "" {
		return s.tag, nil
	}
	var t struct {
		UID uint64 `json:"uid"`
	}
	if err := s.call(ctx, http.MethodPost, "/tags", nil, nil, http.StatusCreated, &t); err != nil {
		return "", err
	}
	s.tag = fmt.Sprint(t.UID)
	return s.tag, nil
}

// call makes one request to the primary node and decodes a want answer
// into out (a *[]byte takes the body as it is); other answers become
// Personium-style errors.
func (s *Store) call(ctx context.Context, method, path string, h http.Header, body []byte, want int, out any) error {
	return s.callAt(ctx, s.url, method, path, h, body, want, out)
}

func (s *Store) callAt(ctx context.Context, base, method, path string, h http.Header, body []byte, want int, out any) error {
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, base+path, rd)
	if err != nil {
		return perr.Errorf(perr.Invalid, "bee: %v", err)
	}
	for k, v := range h {
		req.Header[k] = v
	}
	resp, err := s.hc.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return perr.Errorf(perr.Unavailable, "bee: %s %s%s: %w", method, base, path, ctx.Err())
		}
		return perr.New("PR503-SW-0001", base, err.Error()).WithCause(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != want {
		return s.answerError(resp, base, method, path)
	}
	lim := io.LimitReader(resp.Body, swarm.SpanSize+swarm.ChunkSize+1)
	if b, ok := out.(*[]byte); ok {
		*b, err = io.ReadAll(lim)
		if err != nil {
			return perr.New("PR503-SW-0001", base, err.Error()).WithCause(err)
		}
		return nil
	}
	if err := json.NewDecoder(lim).Decode(out); err != nil {
		return perr.New("PR502-SW-0002", resp.Status, "unreadable answer to "+method+" "+path)
	}
	return nil
}

// answerError maps Bee's answers (swarm.md §1, observed on v2.7.0) to
// errors: 402 batch full, 404 unknown chunk (or batch, on uploads), 422
// batch not usable yet; anything else names the status and Bee's message.
func (s *Store) answerError(resp *http.Response, base, method, path string) error {
	b, _ := io.ReadAll(io.LimitReader(resp.Body, maxErrorBody))
	var e struct {
		Message string `json:"message"`
	}
	_ = json.Unmarshal(b, &e)
	msg := e.Message
	if msg == "" {
		msg = strings.TrimSpace(string(b))
	}
	switch {
	case resp.StatusCode == http.StatusPaymentRequired:
		return perr.New("PR507-SW-0001", s.batch)
	case resp.StatusCode == http.StatusUnprocessableEntity,
		resp.StatusCode == http.StatusNotFound && (method != http.MethodGet || strings.HasPrefix(path, "/stamps/")):
		return perr.New("PR503-SW-0002", s.batch)
	case resp.StatusCode == http.StatusNotFound:
		return perr.Errorf(perr.NotExist, "bee: no chunk at %s", path)
	case resp.StatusCode >= 500:
		return perr.New("PR503-SW-0001", base, resp.Status+": "+msg)
	}
	return perr.New("PR502-SW-0002", resp.Status, method+" "+path+": "+msg).WithCause(errors.New(msg))
}
