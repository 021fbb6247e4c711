// Package kyc verifies an identity (FEATURES K1-K5): it takes an identity
// document image and a selfie, reads the document's machine-readable zone
// (package mrz, through an OCR), compares the two faces (a FaceMatcher:
// package facematch has an embedded model and a remote provider) and
// answers with the MRZ fields, every check, the face score and a decision.
//
// Zero retention (K5) is a property of the whole path, not of one function:
//   - Verify takes ownership of the two image buffers and overwrites them
//     with zeros (clear) before it returns, whatever the outcome; matchers
//     zero their own copies and embeddings the same way.
//   - Nothing here writes a file, a database row or a log line with image
//     bytes, MRZ text or names; errors carry field names and positions, never
//     values. The one thing stored is an audit entry with who, when, the
//     decision, the score, the document type and the issuing country.
//   - Images are checked before any decoding: the content is sniffed (the
//     caller's Content-Type is ignored), only JPEG and PNG pass, and the
//     byte size and the pixel count read from the header (image.DecodeConfig)
//     must be within Limits, so a decompression bomb is refused unopened.
//
// The HTTP layer (internal/httpapi/kyc.go) streams multipart parts into
// bounded memory buffers (never ParseMultipartForm, which spills large
// parts to temporary files).
package kyc
