package store

import (
	"context"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/parley-chat/parley/internal/chat"
)

// fillSlices gives every slice reachable in v (structs, recursively) one element, so that a copy sharing any
// backing array with v can be detected.
func fillSlices(v reflect.Value) {
	switch v.Kind() {
	case reflect.Struct:
		for i := 0; i < v.NumField(); i++ {
			if v.Field(i).CanSet() {
				fillSlices(v.Field(i))
			}
		}
	case reflect.Slice:
		v.Set(reflect.MakeSlice(v.Type(), 1, 1))
		fillSlices(v.Index(0))
	case reflect.Map, reflect.Pointer, reflect.Interface:
		panic("chat.Site holds a " + v.Kind().String() + ": teach cloneSite to copy it, then this test")
	}
}

// sharedSlice names a slice of a that uses the same backing array as b's.
func sharedSlice(a, b reflect.Value, path string) string {
	switch a.Kind() {
	case reflect.Struct:
		for i := 0; i < a.NumField(); i++ {
			if p := sharedSlice(a.Field(i), b.Field(i), path+"."+a.Type().Field(i).Name); p != "" {
				return p
			}
		}
	case reflect.Slice:
		if a.Len() > 0 && a.Pointer() == b.Pointer() {
			return path
		}
		for i := 0; i < a.Len(); i++ {
			if p := sharedSlice(a.Index(i), b.Index(i), path+"[]"); p != "" {
				return p
			}
		}
	}
	return ""
}

// cloneSite must copy every slice of a site, including ones added later: the cache hands out copies that
// admin handlers edit.
func TestCloneSiteSharesNothing(t *testing.T) {
	var st chat.Site
	fillSlices(reflect.ValueOf(&st).Elem())
	cp := cloneSite(&st)
	if p := sharedSlice(reflect.ValueOf(cp).Elem(), reflect.ValueOf(&st).Elem(), "Site"); p != "" {
		t.Fatalf("cloneSite shares %s with the original", p)
	}
	if !reflect.DeepEqual(cp, &st) {
		t.Fatalf("the copy differs: %+v vs %+v", cp, &st)
	}
}

func siteFixture(t *testing.T) (*Store, *chat.Site) {
	t.Helper()
	s := openForPlans(t, "sqlite")
	ctx := context.Background()
	team, err := s.CreateTeam(ctx, "Support")
	if err != nil {
		t.Fatal(err)
	}
	st := &chat.Site{Name: "Shop", WidgetKey: chat.NewWidgetKey(), Secret: chat.NewSiteSecret(),
		AllowedOrigins: []string{"https://shop.example"}, DefaultTeamID: team.ID}
	if err := s.CreateSite(ctx, st); err != nil {
		t.Fatal(err)
	}
	return s, st
}

// A cached site is a copy: changing what a read returned changes neither the cache nor the next read. An
// UpdateSite is seen by the very next read, by id and by key.
func TestSiteCacheCopiesAndInvalidates(t *testing.T) {
	s, st := siteFixture(t)
	ctx := context.Background()
	a, err := s.SiteByKey(ctx, st.WidgetKey) // fills the cache
	if err != nil {
		t.Fatal(err)
	}
	a.Name, a.AllowedOrigins[0] = "changed in memory", "https://evil.example"
	b, err := s.Site(ctx, st.ID)
	if err != nil {
		t.Fatal(err)
	}
	if b.Name != "Shop" || b.AllowedOrigins[0] != "https://shop.example" {
		t.Fatalf("a caller's change leaked into the cache: %+v", b)
	}
	b.Settings.Greeting = "Hello again"
	b.AllowedOrigins = []string{"https://new.example"}
	if err := s.UpdateSite(ctx, b); err != nil {
		t.Fatal(err)
	}
	for _, read := range []func() (*chat.Site, error){
		func() (*chat.Site, error) { return s.Site(ctx, st.ID) },
		func() (*chat.Site, error) { return s.SiteByKey(ctx, st.WidgetKey) },
	} {
		c, err := read()
		if err != nil {
			t.Fatal(err)
		}
		if c.Settings.Greeting != "Hello again" || len(c.AllowedOrigins) != 1 || c.AllowedOrigins[0] != "https://new.example" {
			t.Fatalf("after UpdateSite a read returned %+v", c)
		}
	}
	if _, err := s.SiteByKey(ctx, "site_unknown"); !chat.IsCode(err, chat.CodeNotFound) {
		t.Fatalf("unknown key: %v", err)
	}
}

// A change the store did not make (another process on the same database) is seen once the entry expires.
func TestSiteCacheExpires(t *testing.T) {
	s, st := siteFixture(t)
	ctx := context.Background()
	var mu sync.Mutex
	now := time.Now()
	s.sites.now = func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	if _, err := s.Site(ctx, st.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := s.w.ExecContext(ctx, "UPDATE sites SET name = 'Renamed elsewhere' WHERE id = ?", st.ID); err != nil {
		t.Fatal(err)
	}
	if c, _ := s.Site(ctx, st.ID); c.Name != "Shop" {
		t.Fatalf("within the TTL the cached site is expected (the test checks the cache is used): %q", c.Name)
	}
	mu.Lock()
	now = now.Add(SiteCacheTTL)
	mu.Unlock()
	if c, _ := s.Site(ctx, st.ID); c.Name != "Renamed elsewhere" {
		t.Fatalf("after the TTL the site is still %q", c.Name)
	}
}

// A read that started before an invalidation is not kept: it may have seen the database before the change.
func TestSiteCacheDropsARacingRead(t *testing.T) {
	c := newSiteCache(time.Hour)
	_, gen := c.get("id1", false)
	c.invalidate() // an UpdateSite committed while the read was in flight
	c.put(&chat.Site{ID: "id1", WidgetKey: "k1", Name: "old"}, gen)
	if got, _ := c.get("id1", false); got != nil {
		t.Fatalf("a read older than the invalidation was cached: %+v", got)
	}
	_, gen = c.get("id1", false)
	c.put(&chat.Site{ID: "id1", WidgetKey: "k1", Name: "new"}, gen)
	if got, _ := c.get("k1", true); got == nil || got.Name != "new" {
		t.Fatalf("by key after a clean read: %+v", got)
	}
}
