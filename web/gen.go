package web

// Rebuild dist/ from the sources (needs `npm ci --prefix web` first); see README.md.
//go:generate go run ./build
