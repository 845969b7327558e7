// sarama_check drives a broker with Sarama (Shopify's pure-Go Kafka client,
// Debian's golang-github-shopify-sarama-dev), an implementation of the
// protocol written independently of librdkafka, kafka-python and kafkajs.
// tests/integration/test_clients_sarama.py builds and runs it.
//
// Usage: sarama_check BOOTSTRAP CHECK [COUNT]
//
//	roundtrip    for every codec, COUNT records with keys, headers and
//	             CreateTime timestamps, read back one by one and compared
//	idempotent   the same through Sarama's idempotent producer (acks=all)
//	group        two members of one consumer group share four partitions,
//	             read every record once and commit; the committed offsets
//	             are read back with the admin client
//	admin        CreateTopic, ListTopics, DescribeConfig, DeleteTopic
//	oldformat    Sarama's default protocol version (0.8.2, message format
//	             v0): the send fails with UNSUPPORTED_VERSION, it does not hang
//
// Prints what it did and exits 0, or prints the first mismatch and exits 1.
package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"strconv"
	"sync"
	"time"

	"github.com/Shopify/sarama"
)

const baseTimestampMs = 1700000000000

var filler = bytes.Repeat([]byte("abcdefghij"), 6)

func fail(format string, args ...interface{}) {
	fmt.Fprintf(os.Stderr, "FAIL: "+format+"\n", args...)
	os.Exit(1)
}

func recordKey(tag string, i int) []byte { return []byte(fmt.Sprintf("%s-key-%06d", tag, i)) }

func recordValue(tag string, i int) []byte {
	return append([]byte(fmt.Sprintf("%s-value-%06d-", tag, i)), filler[:i%60]...)
}

func recordHeaders(tag string, i int) []sarama.RecordHeader {
	return []sarama.RecordHeader{
		{Key: []byte("seq"), Value: []byte(strconv.Itoa(i))},
		{Key: []byte("run"), Value: []byte(tag)},
	}
}

func recordTime(i int) time.Time {
	ms := int64(baseTimestampMs + i)
	return time.Unix(ms/1000, (ms%1000)*int64(time.Millisecond))
}

// newConfig is what a Sarama user writes against a current Kafka: a
// protocol version with record batches v2 (headers, zstd).
func newConfig() *sarama.Config {
	c := sarama.NewConfig()
	c.Version = sarama.V2_1_0_0
	c.ClientID = "sarama-check"
	c.Metadata.Retry.Backoff = 100 * time.Millisecond
	c.Producer.Return.Successes = true
	c.Producer.Partitioner = sarama.NewManualPartitioner
	c.Producer.Flush.Messages = 500
	c.Producer.Flush.Frequency = 5 * time.Millisecond
	c.Consumer.Return.Errors = true
	return c
}

func produce(bootstrap, topic, tag string, count int, cfg *sarama.Config) {
	producer, err := sarama.NewAsyncProducer([]string{bootstrap}, cfg)
	if err != nil {
		fail("%s: producer: %v", tag, err)
	}
	var wg sync.WaitGroup
	wg.Add(2)
	acked, failed := 0, 0
	var firstErr error
	go func() {
		defer wg.Done()
		for range producer.Successes() {
			acked++
		}
	}()
	go func() {
		defer wg.Done()
		for e := range producer.Errors() {
			if failed == 0 {
				firstErr = e.Err
			}
			failed++
		}
	}()
	for i := 0; i < count; i++ {
		producer.Input() <- &sarama.ProducerMessage{
			Topic: topic, Partition: 0,
			Key:       sarama.ByteEncoder(recordKey(tag, i)),
			Value:     sarama.ByteEncoder(recordValue(tag, i)),
			Headers:   recordHeaders(tag, i),
			Timestamp: recordTime(i),
		}
	}
	producer.AsyncClose()
	wg.Wait()
	if failed > 0 || acked != count {
		fail("%s: %d of %d records acknowledged, %d failed (first error: %v)", tag, acked, count, failed, firstErr)
	}
}

func checkMessage(tag string, i int, m *sarama.ConsumerMessage) {
	if m.Offset != int64(i) {
		fail("%s: record %d read at offset %d", tag, i, m.Offset)
	}
	if !bytes.Equal(m.Key, recordKey(tag, i)) || !bytes.Equal(m.Value, recordValue(tag, i)) {
		fail("%s: offset %d: key %q value %q", tag, i, m.Key, m.Value)
	}
	want := recordHeaders(tag, i)
	if len(m.Headers) != len(want) {
		fail("%s: offset %d: %d headers, want %d", tag, i, len(m.Headers), len(want))
	}
	for h := range want {
		if !bytes.Equal(m.Headers[h].Key, want[h].Key) || !bytes.Equal(m.Headers[h].Value, want[h].Value) {
			fail("%s: offset %d: header %q=%q, want %q=%q", tag, i, m.Headers[h].Key, m.Headers[h].Value,
				want[h].Key, want[h].Value)
		}
	}
	if !m.Timestamp.Equal(recordTime(i)) {
		fail("%s: offset %d: timestamp %v, want %v", tag, i, m.Timestamp, recordTime(i))
	}
}

func consumeAndCheck(bootstrap, topic, tag string, count int) {
	consumer, err := sarama.NewConsumer([]string{bootstrap}, newConfig())
	if err != nil {
		fail("%s: consumer: %v", tag, err)
	}
	defer consumer.Close()
	pc, err := consumer.ConsumePartition(topic, 0, sarama.OffsetOldest)
	if err != nil {
		fail("%s: ConsumePartition: %v", tag, err)
	}
	defer pc.Close()
	deadline := time.After(60 * time.Second)
	for i := 0; i < count; i++ {
		select {
		case m := <-pc.Messages():
			checkMessage(tag, i, m)
		case e := <-pc.Errors():
			fail("%s: consumer error after %d records: %v", tag, i, e.Err)
		case <-deadline:
			fail("%s: only %d of %d records read in 60 s", tag, i, count)
		}
	}
	if hwm := pc.HighWaterMarkOffset(); hwm != int64(count) {
		fail("%s: high watermark %d, want %d", tag, hwm, count)
	}
}

func checkRoundtrip(bootstrap string, count int) {
	codecs := []struct {
		name  string
		codec sarama.CompressionCodec
	}{
		{"none", sarama.CompressionNone}, {"gzip", sarama.CompressionGZIP},
		{"snappy", sarama.CompressionSnappy}, {"lz4", sarama.CompressionLZ4},
		{"zstd", sarama.CompressionZSTD},
	}
	for _, c := range codecs {
		start := time.Now()
		topic, tag := "sarama-"+c.name, "sarama-"+c.name
		cfg := newConfig()
		cfg.Producer.Compression = c.codec
		produce(bootstrap, topic, tag, count, cfg)
		consumeAndCheck(bootstrap, topic, tag, count)
		fmt.Printf("  %-8s %d records produced and read back in %.2fs\n", c.name, count,
			time.Since(start).Seconds())
	}
}

func checkIdempotent(bootstrap string, count int) {
	cfg := newConfig()
	cfg.Producer.Idempotent = true
	cfg.Producer.RequiredAcks = sarama.WaitForAll
	cfg.Producer.Retry.Max = 5
	cfg.Net.MaxOpenRequests = 1
	cfg.Producer.Compression = sarama.CompressionLZ4
	produce(bootstrap, "sarama-idempotent", "sarama-idem", count, cfg)
	consumeAndCheck(bootstrap, "sarama-idempotent", "sarama-idem", count)
	fmt.Printf("  idempotent producer: %d records, each once and in order\n", count)
}

// groupTally is what both members of the group were handed, offset by offset.
type groupTally struct {
	mu    sync.Mutex
	seen  map[int32]map[int64]int // partition -> offset -> times read
	total int
	want  int
	done  chan struct{}
}

// groupMember is one member's handler: it records and marks every message.
type groupMember struct{ tally *groupTally }

func (g groupMember) Setup(sarama.ConsumerGroupSession) error   { return nil }
func (g groupMember) Cleanup(sarama.ConsumerGroupSession) error { return nil }

func (g groupMember) ConsumeClaim(sess sarama.ConsumerGroupSession, claim sarama.ConsumerGroupClaim) error {
	t := g.tally
	for m := range claim.Messages() {
		t.mu.Lock()
		if t.seen[m.Partition] == nil {
			t.seen[m.Partition] = map[int64]int{}
		}
		t.seen[m.Partition][m.Offset]++
		t.total++
		if t.total == t.want {
			close(t.done)
		}
		t.mu.Unlock()
		sess.MarkMessage(m, "")
	}
	return nil
}

func checkGroup(bootstrap string) {
	const partitions, perPartition = 4, 500
	const topic, group = "sarama-group", "sarama-group-check"
	admin, err := sarama.NewClusterAdmin([]string{bootstrap}, newConfig())
	if err != nil {
		fail("group: admin: %v", err)
	}
	defer admin.Close()
	if err := admin.CreateTopic(topic, &sarama.TopicDetail{NumPartitions: partitions, ReplicationFactor: 1}, false); err != nil {
		fail("group: CreateTopic: %v", err)
	}
	cfg := newConfig()
	producer, err := sarama.NewSyncProducer([]string{bootstrap}, cfg)
	if err != nil {
		fail("group: producer: %v", err)
	}
	var batch []*sarama.ProducerMessage
	for p := int32(0); p < partitions; p++ {
		for i := 0; i < perPartition; i++ {
			batch = append(batch, &sarama.ProducerMessage{Topic: topic, Partition: p,
				Value: sarama.StringEncoder(fmt.Sprintf("p%d-%d", p, i))})
		}
	}
	if err := producer.SendMessages(batch); err != nil {
		fail("group: SendMessages: %v", err)
	}
	producer.Close()

	gcfg := newConfig()
	gcfg.Consumer.Offsets.Initial = sarama.OffsetOldest
	gcfg.Consumer.Offsets.CommitInterval = 100 * time.Millisecond
	tally := &groupTally{seen: map[int32]map[int64]int{}, want: partitions * perPartition, done: make(chan struct{})}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	for m := 0; m < 2; m++ {
		cg, err := sarama.NewConsumerGroup([]string{bootstrap}, group, gcfg)
		if err != nil {
			fail("group: member %d: %v", m, err)
		}
		wg.Add(1)
		go func(cg sarama.ConsumerGroup) {
			defer wg.Done()
			defer cg.Close()
			for ctx.Err() == nil {
				if err := cg.Consume(ctx, []string{topic}, groupMember{tally}); err != nil && ctx.Err() == nil {
					fmt.Fprintf(os.Stderr, "group: Consume: %v\n", err)
					time.Sleep(100 * time.Millisecond)
				}
			}
		}(cg)
	}
	select {
	case <-tally.done:
	case <-time.After(60 * time.Second):
		tally.mu.Lock()
		fail("group: %d of %d records read in 60 s", tally.total, tally.want)
	}
	time.Sleep(500 * time.Millisecond) // a commit interval or more: the last marks are committed
	cancel()
	wg.Wait() // Close() commits what was marked

	for p := int32(0); p < partitions; p++ {
		if len(tally.seen[p]) != perPartition {
			fail("group: partition %d: %d distinct offsets read, want %d", p, len(tally.seen[p]), perPartition)
		}
	}
	offsets, err := admin.ListConsumerGroupOffsets(group, map[string][]int32{topic: {0, 1, 2, 3}})
	if err != nil {
		fail("group: ListConsumerGroupOffsets: %v", err)
	}
	for p := int32(0); p < partitions; p++ {
		block := offsets.GetBlock(topic, p)
		if block == nil || block.Err != sarama.ErrNoError || block.Offset != perPartition {
			fail("group: partition %d: committed %+v, want offset %d", p, block, perPartition)
		}
	}
	fmt.Printf("  consumer group: 2 members read %d records on %d partitions, offsets committed\n",
		partitions*perPartition, partitions)
}

func checkAdmin(bootstrap string) {
	admin, err := sarama.NewClusterAdmin([]string{bootstrap}, newConfig())
	if err != nil {
		fail("admin: %v", err)
	}
	defer admin.Close()
	const topic = "sarama-admin"
	retention := "3600000"
	detail := &sarama.TopicDetail{NumPartitions: 3, ReplicationFactor: 1,
		ConfigEntries: map[string]*string{"retention.ms": &retention}}
	if err := admin.CreateTopic(topic, detail, false); err != nil {
		fail("admin: CreateTopic: %v", err)
	}
	err = admin.CreateTopic(topic, detail, false)
	if terr, ok := err.(*sarama.TopicError); !ok || terr.Err != sarama.ErrTopicAlreadyExists {
		fail("admin: creating %s twice: %v, want TOPIC_ALREADY_EXISTS", topic, err)
	}
	topics, err := admin.ListTopics()
	if err != nil {
		fail("admin: ListTopics: %v", err)
	}
	if d, ok := topics[topic]; !ok || d.NumPartitions != 3 {
		fail("admin: ListTopics: %s is %+v", topic, topics[topic])
	}
	entries, err := admin.DescribeConfig(sarama.ConfigResource{Type: sarama.TopicResource, Name: topic})
	if err != nil {
		fail("admin: DescribeConfig: %v", err)
	}
	found := false
	for _, e := range entries {
		if e.Name == "retention.ms" {
			found = e.Value == retention
		}
	}
	if !found {
		fail("admin: DescribeConfig does not show retention.ms=%s", retention)
	}
	if err := admin.DeleteTopic(topic); err != nil {
		fail("admin: DeleteTopic: %v", err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		topics, err = admin.ListTopics()
		if err == nil {
			if _, ok := topics[topic]; !ok {
				break
			}
		}
		if time.Now().After(deadline) {
			fail("admin: %s still listed 10 s after DeleteTopic", topic)
		}
		time.Sleep(100 * time.Millisecond)
	}
	fmt.Println("  admin: topic created (with a config), refused twice, described, deleted")
}

func checkOldFormat(bootstrap string) {
	cfg := sarama.NewConfig() // Version left at Sarama's default, 0.8.2
	cfg.Producer.Return.Successes = true
	cfg.Producer.Retry.Max = 0
	producer, err := sarama.NewSyncProducer([]string{bootstrap}, cfg)
	if err != nil {
		fail("oldformat: producer: %v", err)
	}
	defer producer.Close()
	result := make(chan error, 1)
	go func() {
		_, _, err := producer.SendMessage(&sarama.ProducerMessage{Topic: "sarama-old", Value: sarama.StringEncoder("v0")})
		result <- err
	}()
	select {
	case err := <-result:
		if err != sarama.ErrUnsupportedVersion {
			if perr, ok := err.(*sarama.ProducerError); !ok || perr.Err != sarama.ErrUnsupportedVersion {
				fail("oldformat: send with message format v0 returned %v, want UNSUPPORTED_VERSION", err)
			}
		}
	case <-time.After(30 * time.Second):
		fail("oldformat: send with message format v0 got no answer in 30 s")
	}
	fmt.Println("  old format: Produce v0 refused with UNSUPPORTED_VERSION")
}

func main() {
	if len(os.Args) < 3 {
		fmt.Fprintln(os.Stderr, "usage: sarama_check BOOTSTRAP roundtrip|idempotent|group|admin|oldformat [COUNT]")
		os.Exit(2)
	}
	bootstrap, check := os.Args[1], os.Args[2]
	count := 20000
	if len(os.Args) > 3 {
		n, err := strconv.Atoi(os.Args[3])
		if err != nil || n <= 0 {
			fail("COUNT must be a positive number, not %q", os.Args[3])
		}
		count = n
	}
	switch check {
	case "roundtrip":
		checkRoundtrip(bootstrap, count)
	case "idempotent":
		checkIdempotent(bootstrap, count)
	case "group":
		checkGroup(bootstrap)
	case "admin":
		checkAdmin(bootstrap)
	case "oldformat":
		checkOldFormat(bootstrap)
	default:
		fail("unknown check %q", check)
	}
}
