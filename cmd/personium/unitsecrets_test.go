package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/personium-go/personium/internal/auth"
	"github.com/personium-go/personium/internal/metastore"
	_ "github.com/personium-go/personium/internal/metastore/sqlite"
)

// TestUnitSecretsAgree: the first process of a unit records its
// secrets; later ones with the same secrets start, ones with another
// token key, unit key or master token are refused with a message that
// names what to copy, and --new-unit-secrets hands the unit over.
func TestUnitSecretsAgree(t *testing.T) {
	ctx := context.Background()
	store, err := metastore.Open(ctx, "sqlite", filepath.Join(t.TempDir(), "metadata.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	const unitURL = "https://unit.example/"
	secrets := func(dir, master string) unitSecrets {
		t.Helper()
		tk, err := auth.LoadOrCreateTokenKey(dir, rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		k, err := auth.LoadOrCreateUnitKey(dir, unitURL, rand.Reader, time.Now())
		if err != nil {
			t.Fatal(err)
		}
		return newUnitSecrets(tk, k, master, unitURL)
	}
	dirA, dirB := t.TempDir(), t.TempDir()
	a, b := secrets(dirA, "master-1"), secrets(dirB, "master-1")
	var logs bytes.Buffer
	log := slog.New(slog.NewTextHandler(&logs, nil))
	check := func(s unitSecrets, replace bool) error { return checkUnitSecrets(ctx, store, log, s, replace) }

	if err := check(a, false); err != nil {
		t.Fatalf("first process: %v", err)
	}
	if err := check(a, false); err != nil {
		t.Fatalf("second process with the same secrets: %v", err)
	}
	err = check(b, false)
	if err == nil || !strings.Contains(err.Error(), "token-key, unit-key.pem, unit-cert.pem differ") ||
		!strings.Contains(err.Error(), "copy token-key") {
		t.Errorf("process with its own keys: %v", err)
	}
	a2 := secrets(dirA, "master-2")
	if err := check(a2, false); err == nil || !strings.Contains(err.Error(), "master token") {
		t.Errorf("process with another master token: %v", err)
	}
	moved := a
	moved.UnitURL = "https://elsewhere.example/"
	if err := check(moved, false); err != nil {
		t.Errorf("another unit URL refused: %v", err)
	}
	if !strings.Contains(logs.String(), "unit URL differs") {
		t.Errorf("another unit URL not warned about; log:\n%s", logs.String())
	}
	if a.MasterToken == a2.MasterToken || strings.Contains(a.MasterToken, "master-1") {
		t.Errorf("master token digest %q", a.MasterToken)
	}

	// Rotation: B's secrets become the unit's; A's are refused from then on.
	if err := check(b, true); err != nil {
		t.Fatalf("--new-unit-secrets: %v", err)
	}
	if err := check(b, false); err != nil {
		t.Errorf("after rotation, the new secrets: %v", err)
	}
	if err := check(a, false); err == nil {
		t.Error("after rotation, the old secrets were accepted")
	}
	// On an empty store, --new-unit-secrets just records.
	store2, err := metastore.Open(ctx, "sqlite", filepath.Join(t.TempDir(), "metadata.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer store2.Close()
	if err := checkUnitSecrets(ctx, store2, log, a, true); err != nil {
		t.Errorf("--new-unit-secrets on a new store: %v", err)
	}
	if err := checkUnitSecrets(ctx, store2, log, b, false); err == nil {
		t.Error("other secrets accepted after --new-unit-secrets on a new store")
	}
}
