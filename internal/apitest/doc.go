// Package apitest runs Rampart's HTTP API end to end: a real instance
// (app.Start) on a random port over real TLS, on SQLite and on PostgreSQL,
// driven by an ordinary HTTPS client.
package apitest
