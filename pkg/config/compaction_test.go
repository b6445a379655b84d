package config

import (
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestRetentionAndCompactionDecodeWithDaysAndForever(t *testing.T) {
	got, err := FromSettings([]byte(`{"archive":{"path":"a"},"clusters":[{"name":"c1","host":"h","user":"u"}],
		"retention":{"stl_scan":"90d","stl_query":"forever","stl_wlm_query":"720h"},
		"compaction":{"enabled":false,"maxObjectMB":"64","grace":"15m","openDayMinWindows":3}}`), map[string]string{"password.c1": ""})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]time.Duration{"stl_scan": 90 * 24 * time.Hour, "stl_wlm_query": 720 * time.Hour}
	if !reflect.DeepEqual(got.Retention, want) {
		t.Errorf("retention %v, want %v", got.Retention, want)
	}
	if c := got.Compaction; !c.Disabled || c.MaxObjectBytes() != 64<<20 || c.GraceOrDefault() != 15*time.Minute || c.OpenDayMinWindowsOrDefault() != 3 {
		t.Errorf("compaction %+v", c)
	}
	if c := (Compaction{}); c.MaxObjectBytes() != 512<<20 || c.GraceOrDefault() != 10*time.Minute || c.OpenDayMinWindowsOrDefault() != 12 {
		t.Errorf("zero compaction %+v is not the default", c)
	}
}

func TestBadRetentionAndCompactionNameTheirField(t *testing.T) {
	_, err := FromSettings([]byte(`{"archive":{"path":"a"},"clusters":[{"name":"c1","host":"h","user":"u"}],
		"export":{"tables":["stl_query"]},
		"retention":{"stl_scan":"90d","stl_query":"12h","stl_explain":"ninety days","stl_alert_event_log":90},
		"compaction":{"maxObjectMB":-1,"grace":"10s","sorted":true,"openDayMinWindows":-2}}`), map[string]string{"password.c1": ""})
	if err == nil {
		t.Fatal("no error")
	}
	for _, want := range []string{
		`jsonData.retention.stl_scan: not an exported table (exported: stl_query)`,
		`jsonData.retention.stl_query: must be at least 1d`,
		`jsonData.retention.stl_explain: "ninety days" is not a duration`,
		`jsonData.retention.stl_alert_event_log: must be a duration such as "90d" or "forever", got`,
		`jsonData.compaction.maxObjectMB: must be between 1 and`,
		`jsonData.compaction.grace: must be longer than query.timeout (30s)`,
		`jsonData.compaction.sorted: unknown field`,
		`jsonData.compaction.openDayMinWindows: must be between 1 and 1440`,
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q:\n%v", want, err)
		}
	}
}
