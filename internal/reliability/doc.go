// Package reliability holds the tests that prove the delivery contract of RELIABILITY.md against running
// nodes: the R (delivery), B (bad input) and Z (authorization) catalog entries. It has no code of its own.
package reliability
