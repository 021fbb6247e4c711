package audit

// SetParallelMin lets tests exercise parallel verification on short chains.
func (l *Log) SetParallelMin(n int64) { l.parallelMin = n }
