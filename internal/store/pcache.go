package store

import (
	"fmt"
	"math/bits"
	"sync/atomic"
	"unsafe"

	"modernc.org/libc"
	"modernc.org/libc/sys/types"
	sqlite3 "modernc.org/sqlite/lib"
)

// SQLite's page cache, with one key renamed.
//
// When SQLite's b-tree balances a page it may swap the page numbers of two siblings so that they stay in
// ascending order, and it parks one of them under a temporary number while it does: the lock-byte page, the
// page that holds byte 1 GiB of the file (262,145 with 4 KiB pages), which never holds data. The default page
// cache (pcache1) remembers the highest number it ever filed a page under, and at the end of every transaction
// it drops the pages above the end of the database; when that highest number is far above the end — the
// lock-byte page in a database smaller than 1 GiB — it walks every page it holds to find them. So nearly every
// commit that split a page walked the writer's whole cache: 6.6 % of the server's CPU in S1 on SQLite
// (docs/benchmarks.md, History 2026-12-03 late night).
//
// The shim below installs SQLite's own default page cache with two of its methods wrapped: a fetch or a rekey
// of the lock-byte page's number is filed under key 0 instead. No page is ever numbered 0 and no data page is
// ever the lock-byte page, so the renaming is one-to-one on keys SQLite uses and changes nothing else; the
// cache's highest key stays at the end of the database and its end-of-transaction truncation looks at the
// few pages beyond it.
//
// It must run before SQLite is initialized, which the first connection does: package initialization is the
// one moment that is sure to come first. If it cannot be installed, SQLite keeps its default cache unchanged
// and the store says so when it opens (pcacheShimErr).

var (
	pcacheOrigFetch, pcacheOrigRekey uintptr
	pcacheShimErr                    error
	pcacheRenames                    atomic.Int64 // rekeys through the lock-byte page's number, for tests
)

// The page-cache shim must be configured before SQLite is initialized; registering the VFS initializes it.
func init() {
	pcacheShimErr = installPcacheShim()
	walVFSErr = installWALVFS()
}

func installPcacheShim() error {
	tls := libc.NewTLS()
	defer tls.Close()
	size := types.Size_t(unsafe.Sizeof(sqlite3.Tsqlite3_pcache_methods2{}))
	methods := libc.Xcalloc(tls, 1, size) // SQLite copies it; it is kept for the life of the process anyway
	if methods == 0 {
		return fmt.Errorf("out of memory")
	}
	va := libc.Xmalloc(tls, types.Size_t(unsafe.Sizeof(uintptr(0))))
	if va == 0 {
		return fmt.Errorf("out of memory")
	}
	defer libc.Xfree(tls, va)
	if rc := sqlite3.Xsqlite3_config(tls, sqlite3.SQLITE_CONFIG_GETPCACHE2, libc.VaList(va, methods)); rc != sqlite3.SQLITE_OK {
		return fmt.Errorf("sqlite3_config(GETPCACHE2) returned %d", rc)
	}
	m := cPointer[sqlite3.Tsqlite3_pcache_methods2](methods)
	if m.FxFetch == 0 || m.FxRekey == 0 {
		return fmt.Errorf("SQLite reported no default page cache")
	}
	pcacheOrigFetch, pcacheOrigRekey = m.FxFetch, m.FxRekey
	m.FxFetch = funcPointer(pcacheFetch)
	m.FxRekey = funcPointer(pcacheRekey)
	if rc := sqlite3.Xsqlite3_config(tls, sqlite3.SQLITE_CONFIG_PCACHE2, libc.VaList(va, methods)); rc != sqlite3.SQLITE_OK {
		return fmt.Errorf("sqlite3_config(PCACHE2) returned %d (SQLite was initialized before the store's package)", rc)
	}
	return nil
}

// funcPointer is the C function pointer of a Go function, as the transpiled SQLite calls it: a pointer to the
// function value's code pointer (https://golang.org/s/go11func).
func funcPointer[T any](f T) uintptr { return *(*uintptr)(unsafe.Pointer(&struct{ f T }{f})) }

// cPointer is the C memory at address p (allocated by libc, outside Go's heap) as a *T.
func cPointer[T any](p uintptr) *T { return *(**T)(unsafe.Pointer(&p)) }

// lockPage is the lock-byte page's number in the cache p of SQLite's default page cache (a PCache1), whose
// page size is a power of two from 512 to 65,536.
func lockPage(p uintptr) uint32 {
	size := uint32(cPointer[sqlite3.TPCache1](p).FszPage)
	return 1<<30>>bits.TrailingZeros32(size) + 1
}

func pcacheKey(p uintptr, key uint32) uint32 {
	if key == lockPage(p) {
		return 0
	}
	return key
}

func pcacheFetch(tls *libc.TLS, p uintptr, key uint32, create int32) uintptr {
	return (*(*func(*libc.TLS, uintptr, uint32, int32) uintptr)(unsafe.Pointer(&struct{ uintptr }{pcacheOrigFetch})))(tls, p, pcacheKey(p, key), create)
}

func pcacheRekey(tls *libc.TLS, p, page uintptr, oldKey, newKey uint32) {
	o, n := pcacheKey(p, oldKey), pcacheKey(p, newKey)
	if n == 0 {
		pcacheRenames.Add(1)
	}
	(*(*func(*libc.TLS, uintptr, uintptr, uint32, uint32))(unsafe.Pointer(&struct{ uintptr }{pcacheOrigRekey})))(tls, p, page, o, n)
}
