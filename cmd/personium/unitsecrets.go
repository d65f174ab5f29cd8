package main

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/personium-go/personium/internal/auth"
	"github.com/personium-go/personium/internal/metastore"
	"github.com/personium-go/personium/internal/perr"
)

// The unit-level document that records which secrets the processes of
// a unit on a shared metadata store use.
const (
	kindUnitSecrets = "UnitSecrets"
	unitSecretsID   = "unit-secrets"
)

// unitSecrets identifies a process's token key, unit key and master
// token without revealing them: the store other processes (and whoever
// can read the cluster) share gets digests only, the master token's
// keyed by the token key so that a weak master token cannot be guessed
// from it.
type unitSecrets struct {
	TokenKey    string `json:"tokenKey"`    // SHA-256 of the token key
	UnitKey     string `json:"unitKey"`     // JWK thumbprint of the unit key
	UnitCert    string `json:"unitCert"`    // SHA-256 of the certificate (DER)
	MasterToken string `json:"masterToken"` // HMAC-SHA-256(token key, master token)
	UnitURL     string `json:"unitUrl"`
}

func newUnitSecrets(tokenKey []byte, key *auth.UnitKey, masterToken, unitURL string) unitSecrets {
	tk := sha256.Sum256(tokenKey)
	cert := sha256.Sum256(key.CertDER)
	mac := hmac.New(sha256.New, tokenKey)
	mac.Write([]byte("personium-go master token\x00" + masterToken))
	return unitSecrets{TokenKey: hex.EncodeToString(tk[:]), UnitKey: key.KeyID, UnitCert: hex.EncodeToString(cert[:]),
		MasterToken: hex.EncodeToString(mac.Sum(nil)), UnitURL: unitURL}
}

// checkUnitSecrets makes sure that every process serving a unit from a
// shared metadata store seals, signs and accepts tokens alike: the first
// process records its secrets' digests in the store, and a later one
// whose token key, unit key, certificate or master token differ refuses
// to start (its tokens would be refused by the others, and theirs by
// it), saying which files to copy. With replace, this process's secrets
// become the recorded ones (after rotating them on every process). A
// different unit URL is only warned about: a unit may move.
func checkUnitSecrets(ctx context.Context, store metastore.Store, log *slog.Logger, mine unitSecrets, replace bool) error {
	body, err := json.Marshal(mine)
	if err != nil {
		return err
	}
	now := time.Now().UnixMilli()
	doc := metastore.Doc{ID: unitSecretsID, Kind: kindUnitSecrets, Key: unitSecretsID, Body: body, Published: now, Updated: now}
	op := metastore.Op{Type: metastore.Create, Doc: doc}
	if replace {
		if _, err := store.Get(ctx, unitSecretsID); err == nil {
			op.Type = metastore.Update
		} else if !perr.Is(err, perr.NotExist) {
			return fmt.Errorf("reading the unit's recorded secrets: %w", err)
		}
	}
	if _, err := store.Apply(ctx, op); err == nil {
		if replace {
			log.Warn("this process's token key, unit key and master token are now the unit's; processes started with the previous ones must be restarted with these")
		}
		return nil
	} else if !perr.Is(err, perr.Exist) {
		return fmt.Errorf("recording the unit's secrets: %w", err)
	}
	d, err := store.Get(ctx, unitSecretsID)
	if err != nil {
		return fmt.Errorf("reading the unit's recorded secrets: %w", err)
	}
	var theirs unitSecrets
	if err := json.Unmarshal(d.Body, &theirs); err != nil {
		return fmt.Errorf("the unit's recorded secrets: %w", err)
	}
	var differ []string
	if theirs.TokenKey != mine.TokenKey {
		differ = append(differ, "token-key")
	}
	if theirs.UnitKey != mine.UnitKey {
		differ = append(differ, auth.UnitKeyFile)
	}
	if theirs.UnitCert != mine.UnitCert {
		differ = append(differ, auth.UnitCertFile)
	}
	if len(differ) > 0 {
		return fmt.Errorf("this unit's metadata store is shared with processes whose %s differ from this data folder's: "+
			"to add a process to that unit, copy token-key, %s and %s from the data folder of a process already serving it "+
			"into this one; to start a new unit, give it its own --es-index-prefix (after a key rotation only, with every "+
			"process of the unit stopped, start one with --new-unit-secrets)",
			strings.Join(differ, ", "), auth.UnitKeyFile, auth.UnitCertFile)
	}
	if theirs.MasterToken != mine.MasterToken {
		return fmt.Errorf("this unit's metadata store is shared with processes that have another master token: " +
			"give every process the same --master-token (or, after changing it on every process, start one with --new-unit-secrets)")
	}
	if theirs.UnitURL != mine.UnitURL {
		log.Warn("the unit URL differs from the one recorded by the unit's first process; processes serving one unit need the same --unit-url",
			"recorded", theirs.UnitURL, "this", mine.UnitURL)
	}
	return nil
}
