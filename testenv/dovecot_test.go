package testenv

import "testing"

// TestDovecot: a delivered message is in the INBOX, unflagged, with its size.
func TestDovecot(t *testing.T) {
	d := StartDovecot(t)
	raw := []byte("From: a@example.com\r\nTo: jubao@example.gov.cn\r\nSubject: hi\r\nMessage-ID: <1@example.com>\r\n\r\nbody\r\n")
	uid := d.Deliver(t, raw)
	msgs := d.Messages(t)
	if len(msgs) != 1 || msgs[0].UID != uid || msgs[0].Size != int64(len(raw)) || msgs[0].Has(`\Seen`) {
		t.Fatalf("messages %+v, want one of uid %d and %d bytes, unseen", msgs, uid, len(raw))
	}
}
