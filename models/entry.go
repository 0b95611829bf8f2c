package models

import "context"

// Staff entry (DESIGN §10.5): a tip that reached the office by phone,
// letter, visit or the paper mailbox is typed in by office staff. It goes
// through CreateTip like a web tip (the same checks, the same encrypted
// contact, a receipt), and its first event names who entered it.

// StaffChannels are the channels office staff enter tips for, in form order.
var StaffChannels = []string{ChannelPhone, ChannelLetter, ChannelVisit, ChannelMailbox}

// enteredBody is the tipster-visible text of a staff-entered tip's first
// event.
func enteredBody(channel string) string {
	if n := ChannelNames[channel]; n != "" {
		return "通过" + n + "反映，已登记，进入线索收集阶段"
	}
	return "收到反映，进入线索收集阶段"
}

// EnterTip stores a tip entered by office staff p. in.Channel must be one
// of StaffChannels; ReceivedAt defaults to now.
func (s *Store) EnterTip(ctx context.Context, p Principal, in TipInput) (TipReceipt, error) {
	if !p.IsOffice() {
		return TipReceipt{}, ErrForbidden
	}
	if in.Channel == "" || in.Channel == ChannelWeb {
		return TipReceipt{}, invalid("channel", "请选择来源渠道：phone（电话）、letter（来信）、visit（来访）或 mailbox（举报信箱）")
	}
	if in.ReceivedAt == nil {
		now := s.clock()
		in.ReceivedAt = &now
	}
	in.EnteredBy = p.Username
	return s.CreateTip(ctx, in)
}
