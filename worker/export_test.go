package worker

// SetAfterCommit makes m run f between a tip's commit and the flagging
// of its message; an error from f stops the poll there, as a killed
// worker would.
func SetAfterCommit(m *Mailbox, f func(uid uint32) error) { m.afterCommit = f }
