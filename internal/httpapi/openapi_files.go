package httpapi

import (
	"strconv"

	"github.com/rampart-platform/rampart/internal/authz"
	"github.com/rampart-platform/rampart/internal/files"
)

// The OpenAPI entries of the file routes (files.go), referenced from
// operationDocs and openAPISchemas.

func fileIDParam() map[string]string { return map[string]string{"id": "The file's id."} }

func fileETagHeader() map[string]oaHeader {
	return map[string]oaHeader{"ETag": {Description: "The SHA-256 of the file's content, hex, quoted.", Schema: oaString("")}}
}

func tooLargeAnswer() opAnswer {
	return opAnswer{status: 413, description: "The file is larger than the server's limit (files.max_size); code `too_large`.", body: oaRef("Error")}
}

func uploadFileDoc() opDoc {
	return opDoc{
		id: "uploadFile", tag: tagFiles, summary: "Upload a file",
		description: "Streams a file into the organization's encrypted storage. Send it either as the raw body, with " +
			"its name in `X-Filename` (UTF-8, percent-encoded if need be) and its type in `Content-Type`, or as " +
			"`multipart/form-data` with one part named `file` (its filename and Content-Type are used). The file is " +
			"split into parts encrypted separately, stored as they arrive, and becomes visible only once complete. " +
			"To attach it to a record, send `X-Record: <collection>/<record id>` (or the `collection` and `record` " +
			"query parameters): the caller needs files.write on that collection and records.read on the record; a " +
			"record of another organization is not found. A stand-alone file needs files.write on every collection. " +
			"Larger than files.max_size (default 5 GiB): 413.",
		permissions: []authz.Permission{authz.FilesWrite},
		query: []oaParameter{
			{Name: "collection", In: "query", Schema: oaString(""), Description: "Attach to a record of this collection (with `record`)."},
			{Name: "record", In: "query", Schema: oaString(""), Description: "The record's id (with `collection`)."},
		},
		bodyContent: map[string]*oaSchema{
			"application/octet-stream": {Type: "string", ContentMediaType: "application/octet-stream", Description: "The file's bytes (any Content-Type)."},
			"multipart/form-data": oaObject("One part named `file`.", oaProps{
				"file": {Type: "string", ContentMediaType: "application/octet-stream", Description: "The file, with a filename."},
			}, "file"),
		},
		answers: []opAnswer{
			{status: 201, description: "Stored. `Location` names the file.", body: oaRef("File"),
				headers: map[string]oaHeader{
					"Location": {Description: "/api/v1/files/{id}", Schema: oaString("")},
					"ETag":     fileETagHeader()["ETag"],
				}},
			tooLargeAnswer(),
		},
		errors: []int{404},
	}
}

func listFilesDoc() opDoc {
	return opDoc{
		id: "listFiles", tag: tagFiles, summary: "List files",
		description: "The organization's files, oldest first, one page at a time. With `collection`, the files attached " +
			"to that collection's records (files.read on it); without, every file (files.read on every collection).",
		permissions: []authz.Permission{authz.FilesRead},
		query: []oaParameter{
			{Name: "collection", In: "query", Schema: oaString(""), Description: "Only files attached to this collection's records."},
			{Name: "cursor", In: "query", Schema: oaString(""), Description: "The `next_cursor` of the previous page."},
			{Name: "limit", In: "query", Schema: &oaSchema{Type: "integer", Minimum: oaInt64(1), Maximum: oaInt64(files.MaxLimit)},
				Description: "Files per page (default " + strconv.Itoa(files.DefaultLimit) + ")."},
		},
		answers: []opAnswer{oaOK(200, "One page of files.", oaRef("FilePage"))},
		errors:  []int{400},
	}
}

func downloadFileDoc() opDoc {
	return opDoc{
		id: "downloadFile", tag: tagFiles, summary: "Download a file",
		description: "Streams the decrypted content with its Content-Type, `Content-Disposition: attachment` (the name " +
			"as an ASCII fallback and as RFC 8187 `filename*`), ETag and a sandboxing Content-Security-Policy. " +
			"A single byte range (`Range: bytes=a-b`, `a-` or `-n`) answers 206 with Content-Range, decrypting only " +
			"the parts it covers; a range outside the file answers 416; several ranges are answered with the whole " +
			"file. `If-Range` with the ETag is honoured. Every part is authenticated before its bytes are sent, and " +
			"a whole-file download also checks the SHA-256 at the end: if stored data was tampered with after the " +
			"status was sent, the transfer is aborted (the client sees a broken connection, never altered bytes).",
		permissions: []authz.Permission{authz.FilesRead},
		params:      fileIDParam(),
		answers: []opAnswer{
			{status: 200, description: "The file.", contentType: "application/octet-stream",
				body:    &oaSchema{Type: "string", ContentMediaType: "application/octet-stream", Description: "The content, with its stored Content-Type."},
				headers: fileETagHeader()},
			{status: 206, description: "The requested range.", contentType: "application/octet-stream",
				body: &oaSchema{Type: "string", ContentMediaType: "application/octet-stream"},
				headers: map[string]oaHeader{
					"Content-Range": {Description: "`bytes a-b/size`.", Schema: oaString("")},
					"ETag":          fileETagHeader()["ETag"],
				}},
			{status: 416, description: "The range lies outside the file; `Content-Range: bytes */size`; code `range_not_satisfiable`.", body: oaRef("Error"),
				headers: map[string]oaHeader{"Content-Range": {Description: "`bytes */size`.", Schema: oaString("")}}},
		},
		errors: []int{404, 410},
	}
}

func fileMetaDoc() opDoc {
	return opDoc{
		id: "getFileMeta", tag: tagFiles, summary: "Get a file's metadata",
		permissions: []authz.Permission{authz.FilesRead},
		params:      fileIDParam(),
		answers:     []opAnswer{{status: 200, description: "The file's metadata.", body: oaRef("File"), headers: fileETagHeader()}},
		errors:      []int{404, 410},
	}
}

func deleteFileDoc() opDoc {
	return opDoc{
		id: "deleteFile", tag: tagFiles, summary: "Delete a file",
		description: "The file disappears at once; its encrypted parts are removed before the answer (or, if storage " +
			"fails, by the background cleanup).",
		permissions: []authz.Permission{authz.FilesWrite},
		params:      fileIDParam(),
		answers:     []opAnswer{oaOK(204, "Deleted.", nil)},
		errors:      []int{404},
	}
}

func fileSchema() *oaSchema {
	return oaObject("A stored file (its content is at GET /api/v1/files/{id}).", oaProps{
		"id":           oaFormat("uuid", ""),
		"name":         oaString("The file name given at upload (last path element only)."),
		"content_type": oaString(""),
		"size":         &oaSchema{Type: "integer", Minimum: oaInt64(0), Description: "Bytes."},
		"sha256":       &oaSchema{Type: "string", Pattern: "^[0-9a-f]{64}$", Description: "SHA-256 of the content, hex."},
		"collection":   oaString("The collection of the record it is attached to, if any."),
		"record":       oaString("The record it is attached to, if any."),
		"created_at":   oaTime(""),
		"created_by":   oaString("Who uploaded it, such as `user:<id>`."),
	}, "id", "name", "content_type", "size", "sha256", "created_at", "created_by")
}

func filePageSchema() *oaSchema {
	return oaObject("One page of files.", oaProps{
		"items":       oaArray(oaRef("File"), ""),
		"next_cursor": oaString("Pass back as `cursor` for the next page; absent on the last page."),
	}, "items")
}
