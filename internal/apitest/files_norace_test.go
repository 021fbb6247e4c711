//go:build !race

package apitest

// raceBuild is true under -race, whose shadow memory makes resident-memory
// limits meaningless.
const raceBuild = false
