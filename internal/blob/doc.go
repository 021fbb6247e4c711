// Package blob keeps the encrypted parts of files (FEATURES RF2) in a
// Store: the database (the default, so one database snapshot holds
// everything) or an S3-compatible bucket.
//
// A Store holds opaque bytes addressed by organization, file id and part
// index. It never sees plaintext: internal/files encrypts every part with
// the organization's keys, bound to its organization, file, index and
// position, before it reaches a Store, and authenticates it after it comes
// back. A Store's only security duties are to keep organizations apart in
// its addressing (every call names the organization) and to delete what it
// is told to delete, including everything of an organization (DeleteOrg).
//
// Parts are small (a few MiB at most, see MaxPartBytes), so Put and Get work
// on whole byte slices; a file of any size is a sequence of parts, and
// nothing here ever holds more than one part of one file per call.
package blob
