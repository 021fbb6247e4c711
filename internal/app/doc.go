// Package app wires Rampart together: configuration -> data directory ->
// root key -> database -> key manager and audit log -> HTTPS server. It owns
// start-up order (validate everything before creating anything) and shutdown
// (stop accepting, let requests finish, close the database).
package app
