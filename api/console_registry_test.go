package api_test

import (
	"bytes"
	"mime/multipart"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"jianfu/apptest"
	"jianfu/testenv"
)

// TestConsoleRegistryPages: the registry's list, entry form (errors shown
// with the form as typed, nothing stored), import with preview, and the
// warnings page, as the office and a liaison use them.
func TestConsoleRegistryPages(t *testing.T) {
	for _, b := range testenv.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			app := startConsoleApp(t, b, apptest.Options{NoWorker: true})
			office := newConsoleClient(app)
			office.login(t, "office1")
			res := office.get(t, "/console/registry?kind=groups")
			mustStatus(t, "registry page", res, http.StatusOK)
			mustContain(t, "registry page", res, `id="entry-form"`, `id="import-form"`, "暂无备案")

			// A bad entry: 400, the field's message, the input kept.
			res = office.post(t, "/console/registry/groups", url.Values{"csrf_token": {office.csrf}, "unit": {"T02"},
				"name": {"东关街道打卡群"}, "owner": {""}, "demands": {"checkin"}})
			mustStatus(t, "bad entry", res, http.StatusBadRequest)
			mustContain(t, "bad entry", res, "owner 不能为空", `value="东关街道打卡群"`, `value="checkin" checked`)
			res = office.post(t, "/console/registry/groups", url.Values{"csrf_token": {office.csrf}, "unit": {"T02"},
				"name": {"东关街道打卡群"}, "owner": {"东关街道党政办"}, "demands": {"checkin"}})
			mustStatus(t, "entry", res, http.StatusSeeOther)
			mustContain(t, "after the entry", office.get(t, res.Header.Get("Location")), "东关街道打卡群", "已备案。")
			res = office.get(t, "/console/registry?kind=groups&demand=1")
			mustContain(t, "demand filter", res, "东关街道打卡群", "打卡签到")

			// Import: the preview lists the refused row; nothing stored.
			csv := "单位,名称,主管单位,状态,要求\nT02,东关街道防汛群,东关街道,在用,\nT99,不存在的单位群,某单位,在用,\n"
			post := func(action string) apptest.Response {
				var body bytes.Buffer
				w := multipart.NewWriter(&body)
				w.WriteField("csrf_token", office.csrf)
				fw, _ := w.CreateFormFile("file", "groups.csv")
				fw.Write([]byte(csv))
				w.WriteField("action", action)
				w.Close()
				req, _ := http.NewRequest(http.MethodPost, app.URL+"/console/registry/groups/import", &body)
				req.Header.Set("Content-Type", w.FormDataContentType())
				return office.Do(t, req)
			}
			res = post("import")
			mustStatus(t, "import with a bad row", res, http.StatusBadRequest)
			mustContain(t, "import with a bad row", res, `id="import-refused"`, "第3行", "T99")
			if strings.Contains(string(office.get(t, "/console/registry?kind=groups").Raw), "东关街道防汛群") {
				t.Fatal("a refused file was half imported")
			}
			csv = "单位,名称,主管单位,状态,要求\nT02,东关街道防汛群,东关街道,在用,\n"
			res = post("preview")
			mustStatus(t, "preview", res, http.StatusOK)
			mustContain(t, "preview", res, "可导入 1 行")
			mustStatus(t, "import", post("import"), http.StatusSeeOther)
			mustContain(t, "after import", office.get(t, "/console/registry?kind=groups"), "东关街道防汛群")

			// The warnings page: the office sees the group's warning; T03's
			// liaison sees none of T02's, whatever the filter says.
			mustContain(t, "warnings", office.get(t, "/console/warnings"), "东关街道打卡群", "强制打卡排名截图")
			liaison := newConsoleClient(app)
			liaison.login(t, "liaison_t03")
			res = liaison.get(t, "/console/warnings?unit=T02")
			mustStatus(t, "liaison's warnings", res, http.StatusOK)
			if strings.Contains(string(res.Raw), "东关街道打卡群") {
				t.Error("T03's liaison sees T02's warning")
			}
			res = liaison.post(t, "/console/registry/groups", url.Values{"csrf_token": {liaison.csrf}, "unit": {"T02"},
				"name": {"群"}, "owner": {"x"}})
			mustStatus(t, "liaison registers for T02", res, http.StatusForbidden)
		})
	}
}
