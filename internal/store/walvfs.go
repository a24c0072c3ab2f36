package store

import (
	"fmt"
	"sync/atomic"
	"unsafe"

	"modernc.org/libc"
	"modernc.org/libc/sys/types"
	sqlite3 "modernc.org/sqlite/lib"
)

// The writer's log, written in one piece per commit.
//
// SQLite appends a commit to the write-ahead log one frame at a time, and each frame as two writes: its 24-byte
// header, then the page. A commit of three messages in S1 writes ~14 pages, so ~28 pwrite system calls, then
// the fsync; on this kind of VM a system call is dear, and the log's writes were 12 % of the server's CPU in S1
// on SQLite (docs/benchmarks.md, History 2026-12-03 late night).
//
// walVFSName is a VFS that is SQLite's own unix VFS except for the files it opens as write-ahead logs: their
// writes at the end of what is buffered are gathered in memory and written with one call when anything else
// is asked of the file — above all the sync that ends every commit with synchronous=FULL (or EXTRA), before
// which nothing of the commit is visible to any reader: a reader learns of frames from the log's index, which
// the writer updates after the sync. Reads, size queries, truncations, file controls and closing also write
// the buffer out first, so the file as this handle sees it never differs from what it wrote. A failed write is
// reported by the call that wrote the buffer out (for a commit, its sync), so the commit fails as it would have.
//
// Only a connection that syncs every commit may use it (the store's writer; the search index syncs less):
// with synchronous=NORMAL or OFF a commit ends without a sync, and its frames would sit in the buffer while
// the log's index already names them; the store opens those with SQLite's own VFS (walVFSFor).

const walVFSName = "parley-wal"

// walBufSize bounds a log handle's buffer (31 frames of 4 KiB pages); a write that would not fit writes the
// buffer out first, and a write larger than half of it goes straight to the file. It is the most the unix VFS
// passes to one pwrite: its seekAndWriteFd masks the length with 0x1ffff, so that a longer write loses its
// high bits (a 128 KiB write becomes one of 0 bytes, reported as a full disk).
const walBufSize = 0x1ffff

var (
	walVFSErr     error
	walOrigOpen   uintptr // the unix VFS's xOpen
	walOrigVFS    uintptr // the unix VFS
	walMethods    uintptr // our io_methods for log files
	walStateOff   uintptr // where our walFile sits in a file object, after the unix VFS's own
	walFlushes    atomic.Int64
	walGathered   atomic.Int64 // writes that went into a buffer instead of to the file
	sqliteOpenWAL = int32(sqlite3.SQLITE_OPEN_WAL)
)

// walFile is the state the VFS keeps in a log file's object, after the unix VFS's own.
type walFile struct {
	orig  uintptr // the unix VFS's io_methods for the file
	buf   uintptr // walBufSize bytes of C memory, or 0 before the first write
	start int64   // the file offset of buf[0]
	n     int64   // bytes buffered
}

func installWALVFS() error {
	tls := libc.NewTLS()
	defer tls.Close()
	orig := sqlite3.Xsqlite3_vfs_find(tls, 0)
	if orig == 0 {
		return fmt.Errorf("SQLite has no default VFS")
	}
	ov := cPointer[sqlite3.Tsqlite3_vfs](orig)
	if ov.FxOpen == 0 {
		return fmt.Errorf("the default VFS has no xOpen")
	}
	vfs := libc.Xcalloc(tls, 1, types.Size_t(unsafe.Sizeof(sqlite3.Tsqlite3_vfs{})))
	methods := libc.Xcalloc(tls, 1, types.Size_t(unsafe.Sizeof(sqlite3.Tsqlite3_io_methods{})))
	name, err := libc.CString(walVFSName)
	if vfs == 0 || methods == 0 || err != nil {
		return fmt.Errorf("out of memory")
	}
	v := cPointer[sqlite3.Tsqlite3_vfs](vfs)
	*v = *ov
	v.FpNext = 0
	v.FzName = name
	off := (uintptr(ov.FszOsFile) + 7) &^ 7
	v.FszOsFile = int32(off + unsafe.Sizeof(walFile{}))
	v.FxOpen = funcPointer(walOpen)
	walOrigOpen, walOrigVFS, walStateOff = ov.FxOpen, orig, off

	m := cPointer[sqlite3.Tsqlite3_io_methods](methods)
	m.FiVersion = 3
	m.FxClose = funcPointer(walClose)
	m.FxRead = funcPointer(walRead)
	m.FxWrite = funcPointer(walWrite)
	m.FxTruncate = funcPointer(walTruncate)
	m.FxSync = funcPointer(walSync)
	m.FxFileSize = funcPointer(walFileSize)
	m.FxLock = funcPointer(walLock)
	m.FxUnlock = funcPointer(walUnlock)
	m.FxCheckReservedLock = funcPointer(walCheckReservedLock)
	m.FxFileControl = funcPointer(walFileControl)
	m.FxSectorSize = funcPointer(walSectorSize)
	m.FxDeviceCharacteristics = funcPointer(walDeviceCharacteristics)
	m.FxShmMap = funcPointer(walShmMap)
	m.FxShmLock = funcPointer(walShmLock)
	m.FxShmBarrier = funcPointer(walShmBarrier)
	m.FxShmUnmap = funcPointer(walShmUnmap)
	m.FxFetch = funcPointer(walFetch)
	m.FxUnfetch = funcPointer(walUnfetch)
	walMethods = methods
	if rc := sqlite3.Xsqlite3_vfs_register(tls, vfs, 0); rc != sqlite3.SQLITE_OK {
		return fmt.Errorf("sqlite3_vfs_register returned %d", rc)
	}
	return nil
}

// walVFSFor is the DSN parameter that opens a connection with the log-gathering VFS, or "" when sync (the
// connection's synchronous setting) does not sync every commit or the VFS could not be installed.
func walVFSFor(sync string) string {
	if walVFSErr != nil || (sync != "FULL" && sync != "EXTRA") {
		return ""
	}
	return "&vfs=" + walVFSName
}

func walState(f uintptr) *walFile { return cPointer[walFile](f + walStateOff) }

// origMethods is the unix VFS's io_methods of the file f.
func origMethods(f uintptr) *sqlite3.Tsqlite3_io_methods {
	return cPointer[sqlite3.Tsqlite3_io_methods](walState(f).orig)
}

func walOpen(tls *libc.TLS, vfs, name, f uintptr, flags int32, outFlags uintptr) int32 {
	rc := (*(*func(*libc.TLS, uintptr, uintptr, uintptr, int32, uintptr) int32)(unsafe.Pointer(&struct{ uintptr }{walOrigOpen})))(tls, walOrigVFS, name, f, flags, outFlags)
	file := cPointer[sqlite3.Tsqlite3_file](f)
	if rc != sqlite3.SQLITE_OK || flags&sqliteOpenWAL == 0 || file.FpMethods == 0 {
		return rc
	}
	*walState(f) = walFile{orig: file.FpMethods}
	file.FpMethods = walMethods
	return rc
}

// walFlush writes the file's buffer out.
func walFlush(tls *libc.TLS, f uintptr) int32 {
	st := walState(f)
	if st.n == 0 {
		return sqlite3.SQLITE_OK
	}
	n, start := st.n, st.start
	st.n = 0
	walFlushes.Add(1)
	return (*(*func(*libc.TLS, uintptr, uintptr, int32, int64) int32)(unsafe.Pointer(&struct{ uintptr }{origMethods(f).FxWrite})))(tls, f, st.buf, int32(n), start)
}

func walWrite(tls *libc.TLS, f, p uintptr, amt int32, off int64) int32 {
	st := walState(f)
	if st.n > 0 && (off != st.start+st.n || st.n+int64(amt) > walBufSize) {
		if rc := walFlush(tls, f); rc != sqlite3.SQLITE_OK {
			return rc
		}
	}
	if int64(amt) > walBufSize/2 {
		return (*(*func(*libc.TLS, uintptr, uintptr, int32, int64) int32)(unsafe.Pointer(&struct{ uintptr }{origMethods(f).FxWrite})))(tls, f, p, amt, off)
	}
	if st.buf == 0 {
		if st.buf = libc.Xmalloc(tls, walBufSize); st.buf == 0 {
			return sqlite3.SQLITE_NOMEM
		}
	}
	if st.n == 0 {
		st.start = off
	}
	libc.Xmemcpy(tls, st.buf+uintptr(st.n), p, types.Size_t(amt))
	st.n += int64(amt)
	walGathered.Add(1)
	return sqlite3.SQLITE_OK
}

func walClose(tls *libc.TLS, f uintptr) int32 {
	rc := walFlush(tls, f)
	st := walState(f)
	if st.buf != 0 {
		libc.Xfree(tls, st.buf)
		st.buf = 0
	}
	if rc2 := (*(*func(*libc.TLS, uintptr) int32)(unsafe.Pointer(&struct{ uintptr }{origMethods(f).FxClose})))(tls, f); rc == sqlite3.SQLITE_OK {
		rc = rc2
	}
	return rc
}

func walRead(tls *libc.TLS, f, p uintptr, amt int32, off int64) int32 {
	if rc := walFlush(tls, f); rc != sqlite3.SQLITE_OK {
		return rc
	}
	return (*(*func(*libc.TLS, uintptr, uintptr, int32, int64) int32)(unsafe.Pointer(&struct{ uintptr }{origMethods(f).FxRead})))(tls, f, p, amt, off)
}

func walTruncate(tls *libc.TLS, f uintptr, size int64) int32 {
	if rc := walFlush(tls, f); rc != sqlite3.SQLITE_OK {
		return rc
	}
	return (*(*func(*libc.TLS, uintptr, int64) int32)(unsafe.Pointer(&struct{ uintptr }{origMethods(f).FxTruncate})))(tls, f, size)
}

func walSync(tls *libc.TLS, f uintptr, flags int32) int32 {
	if rc := walFlush(tls, f); rc != sqlite3.SQLITE_OK {
		return rc
	}
	return (*(*func(*libc.TLS, uintptr, int32) int32)(unsafe.Pointer(&struct{ uintptr }{origMethods(f).FxSync})))(tls, f, flags)
}

func walFileSize(tls *libc.TLS, f, size uintptr) int32 {
	if rc := walFlush(tls, f); rc != sqlite3.SQLITE_OK {
		return rc
	}
	return (*(*func(*libc.TLS, uintptr, uintptr) int32)(unsafe.Pointer(&struct{ uintptr }{origMethods(f).FxFileSize})))(tls, f, size)
}

// walFileInt32 forwards a method that takes the file and an int32 (xLock, xUnlock), the buffer written first.
func walFileInt32(tls *libc.TLS, f uintptr, fn uintptr, arg int32) int32 {
	if rc := walFlush(tls, f); rc != sqlite3.SQLITE_OK {
		return rc
	}
	return (*(*func(*libc.TLS, uintptr, int32) int32)(unsafe.Pointer(&struct{ uintptr }{fn})))(tls, f, arg)
}

func walLock(tls *libc.TLS, f uintptr, lock int32) int32 {
	return walFileInt32(tls, f, origMethods(f).FxLock, lock)
}

func walUnlock(tls *libc.TLS, f uintptr, lock int32) int32 {
	return walFileInt32(tls, f, origMethods(f).FxUnlock, lock)
}

func walCheckReservedLock(tls *libc.TLS, f, out uintptr) int32 {
	if rc := walFlush(tls, f); rc != sqlite3.SQLITE_OK {
		return rc
	}
	return (*(*func(*libc.TLS, uintptr, uintptr) int32)(unsafe.Pointer(&struct{ uintptr }{origMethods(f).FxCheckReservedLock})))(tls, f, out)
}

func walFileControl(tls *libc.TLS, f uintptr, op int32, arg uintptr) int32 {
	if rc := walFlush(tls, f); rc != sqlite3.SQLITE_OK {
		return rc
	}
	return (*(*func(*libc.TLS, uintptr, int32, uintptr) int32)(unsafe.Pointer(&struct{ uintptr }{origMethods(f).FxFileControl})))(tls, f, op, arg)
}

func walSectorSize(tls *libc.TLS, f uintptr) int32 {
	return (*(*func(*libc.TLS, uintptr) int32)(unsafe.Pointer(&struct{ uintptr }{origMethods(f).FxSectorSize})))(tls, f)
}

func walDeviceCharacteristics(tls *libc.TLS, f uintptr) int32 {
	return (*(*func(*libc.TLS, uintptr) int32)(unsafe.Pointer(&struct{ uintptr }{origMethods(f).FxDeviceCharacteristics})))(tls, f)
}

// The shared-memory and memory-map methods belong to database files; SQLite does not call them on a log.
// They are forwarded all the same, after the buffer, so that the VFS is a whole one.

func walShmMap(tls *libc.TLS, f uintptr, region, size, extend int32, pp uintptr) int32 {
	fn := origMethods(f).FxShmMap
	if fn == 0 {
		return sqlite3.SQLITE_IOERR
	}
	if rc := walFlush(tls, f); rc != sqlite3.SQLITE_OK {
		return rc
	}
	return (*(*func(*libc.TLS, uintptr, int32, int32, int32, uintptr) int32)(unsafe.Pointer(&struct{ uintptr }{fn})))(tls, f, region, size, extend, pp)
}

func walShmLock(tls *libc.TLS, f uintptr, off, n, flags int32) int32 {
	fn := origMethods(f).FxShmLock
	if fn == 0 {
		return sqlite3.SQLITE_IOERR
	}
	if rc := walFlush(tls, f); rc != sqlite3.SQLITE_OK {
		return rc
	}
	return (*(*func(*libc.TLS, uintptr, int32, int32, int32) int32)(unsafe.Pointer(&struct{ uintptr }{fn})))(tls, f, off, n, flags)
}

func walShmBarrier(tls *libc.TLS, f uintptr) {
	if fn := origMethods(f).FxShmBarrier; fn != 0 {
		walFlush(tls, f)
		(*(*func(*libc.TLS, uintptr))(unsafe.Pointer(&struct{ uintptr }{fn})))(tls, f)
	}
}

func walShmUnmap(tls *libc.TLS, f uintptr, del int32) int32 {
	fn := origMethods(f).FxShmUnmap
	if fn == 0 {
		return sqlite3.SQLITE_OK
	}
	if rc := walFlush(tls, f); rc != sqlite3.SQLITE_OK {
		return rc
	}
	return (*(*func(*libc.TLS, uintptr, int32) int32)(unsafe.Pointer(&struct{ uintptr }{fn})))(tls, f, del)
}

func walFetch(tls *libc.TLS, f uintptr, off int64, amt int32, pp uintptr) int32 {
	fn := origMethods(f).FxFetch
	if fn == 0 {
		*cPointer[uintptr](pp) = 0 // no mapping: SQLite reads instead
		return sqlite3.SQLITE_OK
	}
	if rc := walFlush(tls, f); rc != sqlite3.SQLITE_OK {
		return rc
	}
	return (*(*func(*libc.TLS, uintptr, int64, int32, uintptr) int32)(unsafe.Pointer(&struct{ uintptr }{fn})))(tls, f, off, amt, pp)
}

func walUnfetch(tls *libc.TLS, f uintptr, off int64, p uintptr) int32 {
	fn := origMethods(f).FxUnfetch
	if fn == 0 {
		return sqlite3.SQLITE_OK
	}
	return (*(*func(*libc.TLS, uintptr, int64, uintptr) int32)(unsafe.Pointer(&struct{ uintptr }{fn})))(tls, f, off, p)
}
