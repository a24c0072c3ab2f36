// Package auth authenticates agents and customers: bcrypt passwords, opaque session tokens of which only a
// SHA-256 is stored, CSRF tokens bound to the session, login rate limits, and the server secret.
package auth

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// SecretFile is the name of the generated server secret inside the data directory.
const SecretFile = "secret"

// weakSecrets are values that must never be accepted as a secret: samples from documentation and the
// hard-coded secrets other chat servers shipped with.
var weakSecrets = []string{"secret", "changeme", "change-me", "parley", "taoshihan", "password", "default"}

// LoadOrCreateSecret returns the server secret: from explicit (PARLEY_SECRET / _FILE) when given, else from
// dataDir/secret, generating it there on first run. created reports a newly generated secret.
func LoadOrCreateSecret(dataDir, explicit string) (secret []byte, created bool, err error) {
	if explicit != "" {
		if err := checkSecret([]byte(explicit)); err != nil {
			return nil, false, fmt.Errorf("-secret (PARLEY_SECRET): %w", err)
		}
		return []byte(explicit), false, nil
	}
	path := filepath.Join(dataDir, SecretFile)
	b, err := os.ReadFile(path)
	if err == nil {
		b = bytes.TrimSpace(b)
		if err := checkSecret(b); err != nil {
			return nil, false, fmt.Errorf("%s: %w; delete it to have a new one generated (this logs every agent out)", path, err)
		}
		return b, false, nil
	}
	if !errors.Is(err, os.ErrNotExist) {
		return nil, false, fmt.Errorf("read the server secret: %w", err)
	}
	if err := os.MkdirAll(dataDir, 0o700); err != nil {
		return nil, false, fmt.Errorf("create the data directory: %w", err)
	}
	raw := make([]byte, 32)
	if _, err := rand.Read(raw); err != nil {
		return nil, false, err
	}
	b = []byte(hex.EncodeToString(raw))
	// O_EXCL: two processes starting at once on one data directory must not overwrite each other's secret.
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, os.ErrExist) {
		return LoadOrCreateSecret(dataDir, "")
	}
	if err != nil {
		return nil, false, fmt.Errorf("write the server secret: %w", err)
	}
	if _, err := f.Write(append(b, '\n')); err != nil {
		f.Close()
		return nil, false, err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return nil, false, err
	}
	return b, true, f.Close()
}

func checkSecret(b []byte) error {
	if len(b) < 32 {
		return errors.New("the secret is shorter than 32 characters")
	}
	for _, w := range weakSecrets {
		if strings.EqualFold(string(b), w) || strings.Contains(strings.ToLower(string(b)), w+w) {
			return errors.New("the secret is a well-known sample value")
		}
	}
	return nil
}
