// Package files owns an organization's files (FEATURES RF2): streamed,
// encrypted, integrity-checked uploads and downloads of any size up to a
// configured limit, standing alone or attached to a record, and the audit
// of their changes (RF3).
//
// # Parts
//
// A file is split into parts of PartSize plaintext bytes (the last one
// shorter; an empty file is one empty part). Each part is one AEAD
// ciphertext made by the organization's keyset (keys.Manager.Encrypt) with
// associated data
//
//	("files", "part", file id, part index, "last" | "more")
//
// to which the key manager adds the organization. So a part cannot be moved
// to another index, file or organization, parts cannot be reordered, and a
// file cut short ends on a part that was not written as the last one: each
// is an integrity error. A range read decrypts only the parts it covers
// (tink-go's streaming AEAD can only be read from the start, so a 5 GiB file
// would otherwise be decrypted from byte 0 for its last byte).
//
// The file name, content type, SHA-256 of the plaintext (computed while
// streaming), size, part size, part count and attachment are one more AEAD
// ciphertext ("files", "meta", file id); the plaintext columns the database
// needs for queries are compared with it on every open. A full read checks
// the SHA-256 at the end.
//
// # Streaming and failure
//
// Upload reads one part at a time and hands it to the blob store (database
// rows, one transaction per part, or S3 objects) while the next one is
// read; download fetches, authenticates and writes one part at a time. A
// part is released only after it authenticated, so a reader never gets
// altered bytes: it gets an errs.Integrity error instead.
//
// An upload is a row in state "uploading" from its first part until the
// transaction that writes its metadata, marks it "complete" and appends the
// audit entry; before that it is never listed or read. A failed upload
// removes its parts at once; one cut short by a crash is removed by
// CleanupIncomplete. Delete marks the file "deleting" (with its audit
// entry), then removes its parts, then its row.
//
// # Access
//
// Every query filters by the principal's organization: another
// organization's file is errs.NotFound, exactly like a missing one. A file
// attached to a record of a collection is governed by files.read and
// files.write on that collection; a standalone file by a grant over every
// collection. Attaching needs read access to the record. Audit entries name
// the file id, size, part count and attachment, never the file name or
// content.
package files
