// Package tombstone describes destroyed data (a crypto-shredded
// organization, a revoked credential) so that the destruction survives a
// restore: a backup taken before the destruction still holds the wrapped
// keyset or the ciphertext, and restore must destroy them again before the
// restored instance serves.
//
// The live database keeps its own record (org_tombstones, revoked secrets);
// a Publisher copies each tombstone out of the database as it happens (the
// backup target keeps them), because an old snapshot cannot know about
// later destructions.
package tombstone

import (
	"context"
	"time"
)

// Kind is what was destroyed.
type Kind string

// Kinds of destroyed data.
const (
	Org    Kind = "org"    // an organization's keysets and rows (ID is empty)
	Secret Kind = "secret" // one stored credential's value (ID is the secret id)
)

// Tombstone records one destruction. It holds ids only, never data.
type Tombstone struct {
	Kind Kind      `json:"kind"`
	Org  string    `json:"org"`
	ID   string    `json:"id,omitempty"`
	At   time.Time `json:"at"`
}

// Publisher copies tombstones somewhere a later restore reads them. Publish
// is called after the destroying transaction committed; a failure is
// logged and raised as an alert by the caller, never undoes the
// destruction, and is repaired by the next backup, which publishes every
// tombstone the database holds.
type Publisher interface {
	Publish(ctx context.Context, t Tombstone) error
}

// Nop publishes nothing: no backup target is configured.
type Nop struct{}

// Publish implements Publisher.
func (Nop) Publish(context.Context, Tombstone) error { return nil }
