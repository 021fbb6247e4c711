package backup

import (
	"crypto/rand"
	"encoding/hex"
	"regexp"
	"time"
)

// FormatVersion is the archive format this package writes and reads.
const FormatVersion = 1

// Manifest is the first member of every archive (manifest.json). It
// describes the snapshot and pins every other member by size and SHA-256.
type Manifest struct {
	Format         int       `json:"format"`
	ID             string    `json:"id"`
	CreatedAt      time.Time `json:"created_at"`
	RampartVersion string    `json:"rampart_version"`
	Dialect        string    `json:"dialect"`
	SchemaVersion  int64     `json:"schema_version"`
	// CopyFormat is the COPY format of PostgreSQL members ("binary").
	CopyFormat string   `json:"copy_format,omitempty"`
	Tables     []Table  `json:"tables"`
	Members    []Member `json:"members"`
}

// Table is one table of the snapshot with its row count (and, for
// PostgreSQL, the columns in the order of its COPY data).
type Table struct {
	Name    string   `json:"name"`
	Rows    int64    `json:"rows"`
	Columns []string `json:"columns,omitempty"`
}

// Member is one file of the archive besides the manifest.
type Member struct {
	Name   string `json:"name"`
	Size   int64  `json:"size"`
	SHA256 string `json:"sha256"`
}

// Rows is the total row count of the snapshot.
func (m Manifest) Rows() int64 {
	var n int64
	for _, t := range m.Tables {
		n += t.Rows
	}
	return n
}

// Info is the listing object of one backup, written to the target after the
// archive and read by List. It names nothing secret.
type Info struct {
	ID             string    `json:"id"`
	CreatedAt      time.Time `json:"created_at"`
	Size           int64     `json:"size"`
	SHA256         string    `json:"sha256"` // of the encrypted archive as stored
	Dialect        string    `json:"dialect"`
	SchemaVersion  int64     `json:"schema_version"`
	RampartVersion string    `json:"rampart_version"`
	Rows           int64     `json:"rows"`
	Recipients     int       `json:"recipients"`
	// Verified is the newest verification of this backup, if any (read from
	// its verification object; not part of the listing object itself).
	Verified *Verification `json:"verified,omitempty"`
}

// Verification is the result of one verify run, kept next to the backup.
type Verification struct {
	At           time.Time `json:"at"`
	OK           bool      `json:"ok"`
	Error        string    `json:"error,omitempty"`
	Tables       int       `json:"tables"`
	Rows         int64     `json:"rows"`
	AuditChains  int       `json:"audit_chains"`
	AuditEntries int64     `json:"audit_entries"`
	DurationMS   int64     `json:"duration_ms"`
}

// Object names inside a target.
const (
	backupsDir    = "backups/"
	tombstonesDir = "tombstones/"
	drillsDir     = "drills/"
)

func archiveName(id string) string      { return backupsDir + id + ".age" }
func listingName(id string) string      { return backupsDir + id + ".json" }
func verificationName(id string) string { return backupsDir + id + ".verify.json" }

// idPattern is what NewID makes: UTC time to the second and 6 random hex
// digits, so names sort by time and never collide.
var idPattern = regexp.MustCompile(`^[0-9]{8}T[0-9]{6}Z-[0-9a-f]{6}$`)

// NewID returns a new backup id for a backup taken at t.
func NewID(t time.Time) string {
	var b [3]byte
	_, _ = rand.Read(b[:])
	return t.UTC().Format("20060102T150405Z") + "-" + hex.EncodeToString(b[:])
}

// ValidID reports whether id has the shape NewID makes (ids reach object
// names, so nothing else is accepted).
func ValidID(id string) bool { return idPattern.MatchString(id) }
