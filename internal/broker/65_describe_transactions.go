package broker

// DescribeTransactions, key 65, v0 (kafka-transactions.sh describe).
// Each transactional id is answered by its coordinator; asked elsewhere it
// gets NOT_COORDINATOR, as in Kafka (the admin client finds the
// coordinator first).
// ACLs: DESCRIBE on the transactional id
// (TRANSACTIONAL_ID_AUTHORIZATION_FAILED); only topics with DESCRIBE are
// listed in a transaction.

import "github.com/twmb/franz-go/pkg/kmsg"

func handleDescribeTransactions(rc *reqCtx, req *kmsg.DescribeTransactionsRequest) kmsg.Response {
	resp := req.ResponseKind().(*kmsg.DescribeTransactionsResponse)
	for _, id := range req.TransactionalIDs {
		resp.TransactionStates = append(resp.TransactionStates, rc.broker().txns.Describe(id))
	}
	describeTransactionsAuth(rc, resp)
	return resp
}
