package store

import (
	"slices"
	"sync"
	"time"

	"github.com/parley-chat/parley/internal/chat"
)

// SiteCacheTTL is how long a site read by id or widget key is served from memory. Every customer request reads
// its site (the visitor session by key; authentication, the origin check, the start of a conversation and the
// router by id), and sites change only when an admin edits one, so the reads are kept. A change made through
// this store (the admin API, UpdateSite) clears the cache at once; a change made by another process on the
// same database (several `parley serve` on one MySQL, or a hand edit) is seen within this time. There is no
// bus between processes yet (multi-node mode is not available), so the time bound is the cross-process
// invalidation.
const SiteCacheTTL = 2 * time.Second

// siteCache keeps sites for SiteCacheTTL. It hands out copies (admin handlers edit the site they read) and
// never keeps "not found", so a new site is visible at once.
type siteCache struct {
	ttl time.Duration
	// now is the cache's own clock: expiry is about wall time passing, not the store's injected clock (tests
	// freeze or move that one for the domain's sake).
	now func() time.Time

	mu    sync.Mutex
	gen   uint64 // bumped by every invalidation, so a read that raced one is not kept
	byID  map[string]siteEntry
	byKey map[string]string // widget key -> id
}

type siteEntry struct {
	site    *chat.Site
	expires time.Time
}

func newSiteCache(ttl time.Duration) *siteCache {
	return &siteCache{ttl: ttl, now: time.Now, byID: map[string]siteEntry{}, byKey: map[string]string{}}
}

// get returns a copy of the cached site with id (or, byKey, widget key), and the generation to pass to put
// when it is not cached.
func (c *siteCache) get(key string, byKey bool) (*chat.Site, uint64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	id := key
	if byKey {
		id = c.byKey[key]
	}
	e, ok := c.byID[id]
	if !ok || !c.now().Before(e.expires) {
		return nil, c.gen
	}
	return cloneSite(e.site), c.gen
}

// put keeps a copy of st read from the database, unless the cache was invalidated since gen was taken (the
// read may then predate the change).
func (c *siteCache) put(st *chat.Site, gen uint64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if gen != c.gen {
		return
	}
	if old, ok := c.byID[st.ID]; ok && old.site.WidgetKey != st.WidgetKey {
		delete(c.byKey, old.site.WidgetKey)
	}
	c.byID[st.ID] = siteEntry{site: cloneSite(st), expires: c.now().Add(c.ttl)}
	c.byKey[st.WidgetKey] = st.ID
}

// invalidate forgets every site. Sites are few and change rarely: forgetting all is simpler than knowing
// which key a change touched.
func (c *siteCache) invalidate() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.gen++
	clear(c.byID)
	clear(c.byKey)
}

// cloneSite copies st deeply: every slice of a site is its own, so a caller may change what it was given.
func cloneSite(st *chat.Site) *chat.Site {
	cp := *st
	cp.AllowedOrigins = slices.Clone(st.AllowedOrigins)
	cp.Settings.PreChat.Fields = slices.Clone(st.Settings.PreChat.Fields)
	cp.Settings.PreChat.Departments = slices.Clone(st.Settings.PreChat.Departments)
	bh := &cp.Settings.Routing.BusinessHours
	bh.Days = slices.Clone(bh.Days)
	bh.Holidays = slices.Clone(bh.Holidays)
	return &cp
}
