// Package worker runs Jianfu's background work on asynq: outbox tasks,
// timers, notices and the weekly digest, plus the relay that hands
// unconfirmed outbox rows to Redis.
package worker

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/hibiken/asynq"
	"github.com/redis/go-redis/v9"

	"jianfu/models"
)

// RedisOpt turns JIANFU_REDIS_URL into asynq's connection options:
// redis://, rediss://, redis-sentinel://[:pass@]h1:p,h2:p[/db]?master=NAME
// and redis-cluster://[:pass@]h1:p,h2:p.
func RedisOpt(raw string) (asynq.RedisConnOpt, error) {
	if strings.HasPrefix(raw, "redis-cluster://") {
		u, err := url.Parse(raw)
		if err != nil {
			return nil, fmt.Errorf("parse redis cluster URL: %w", err)
		}
		opt := asynq.RedisClusterClientOpt{Addrs: strings.Split(u.Host, ",")}
		if u.User != nil {
			opt.Username = u.User.Username()
			opt.Password, _ = u.User.Password()
		}
		return opt, nil
	}
	if strings.HasPrefix(raw, "redis-sentinel://") {
		return sentinelOpt(raw)
	}
	return asynq.ParseRedisURI(raw)
}

// sentinelOpt parses redis-sentinel://[:pass@]h1:p,h2:p[/db]?master=NAME
// [&sentinel_password=P]. asynq's own parser drops the database number and
// hands the password to the Sentinels, not to Redis; here the password is
// Redis's (what requirepass guards) and the Sentinels get theirs only when
// they have one (a Sentinel without requirepass refuses AUTH).
func sentinelOpt(raw string) (asynq.RedisConnOpt, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return nil, fmt.Errorf("parse redis sentinel URL: %w", err)
	}
	opt := asynq.RedisFailoverClientOpt{MasterName: u.Query().Get("master"),
		SentinelAddrs: strings.Split(u.Host, ","), SentinelPassword: u.Query().Get("sentinel_password")}
	if opt.MasterName == "" {
		return nil, errors.New("redis sentinel URL: ?master=NAME (the name the Sentinels monitor) is missing")
	}
	if u.User != nil {
		opt.Username = u.User.Username()
		opt.Password, _ = u.User.Password()
	}
	if db := strings.Trim(u.Path, "/"); db != "" {
		if opt.DB, err = strconv.Atoi(db); err != nil || opt.DB < 0 {
			return nil, fmt.Errorf("redis sentinel URL: database %q is not a number", db)
		}
	}
	return opt, nil
}

// EmbeddedRedis starts an in-process Redis for the embedded mode. The
// database stays the source of truth: on restart the relay and the timer
// sweep put everything back.
func EmbeddedRedis() (*miniredis.Miniredis, asynq.RedisConnOpt, error) {
	m := miniredis.NewMiniRedis()
	if err := m.StartAddr("127.0.0.1:0"); err != nil {
		return nil, nil, fmt.Errorf("start in-process redis: %w", err)
	}
	return m, asynq.RedisClientOpt{Addr: m.Addr()}, nil
}

// PingRedis checks that Redis answers.
func PingRedis(ctx context.Context, opt asynq.RedisConnOpt) error {
	c, ok := opt.MakeRedisClient().(redis.UniversalClient)
	if !ok {
		return errors.New("unexpected redis client type")
	}
	defer c.Close()
	return c.Ping(ctx).Err()
}

// Queue enqueues tasks on asynq; it is the models.Enqueuer main injects.
type Queue struct {
	client    *asynq.Client
	inspector *asynq.Inspector
	maxRetry  int
}

// NewQueue connects an asynq client.
func NewQueue(opt asynq.RedisConnOpt) *Queue {
	return &Queue{client: asynq.NewClient(opt), inspector: asynq.NewInspector(opt), maxRetry: 20}
}

// Close releases the client.
func (q *Queue) Close() error {
	q.inspector.Close()
	return q.client.Close()
}

// Enqueue queues t under its task id; a task already queued under that id
// counts as success.
func (q *Queue) Enqueue(ctx context.Context, t models.Task) error {
	opts := []asynq.Option{asynq.TaskID(t.ID), asynq.Queue(t.Queue), asynq.MaxRetry(q.maxRetry), asynq.Timeout(2 * time.Minute)}
	if time.Until(t.RunAt) > 0 {
		opts = append(opts, asynq.ProcessAt(t.RunAt))
	}
	var headers map[string]string
	if t.Group != "" {
		opts = append(opts, asynq.Group(t.Group))
		headers = map[string]string{taskIDHeader: t.ID}
	}
	// Redis gets a short leash: a request must not hang on it, the outbox
	// keeps the work.
	ctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	_, err := q.client.EnqueueContext(ctx, asynq.NewTaskWithHeaders(t.Type, t.Payload, headers), opts...)
	if errors.Is(err, asynq.ErrTaskIDConflict) && isDead(q.inspector, t.Queue, t.ID) {
		// Its retries are spent: offering it again would be a silent no-op
		// every minute. It waits for `jianfu tasks retry`.
		return fmt.Errorf("task %s: %w", t.ID, models.ErrTaskDead)
	}
	if errors.Is(err, asynq.ErrTaskIDConflict) || errors.Is(err, asynq.ErrDuplicateTask) {
		return nil
	}
	return err
}
