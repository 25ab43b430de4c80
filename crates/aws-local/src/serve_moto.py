"""moto_server with DynamoDB requests applied one at a time.

moto's threaded server checks a ConditionExpression and then writes without a lock, so two
concurrent conditional writes to one item can both succeed. Real DynamoDB applies each
conditional write atomically, and sirslack's leases, claims and idempotency markers rely on it.
Serialising DynamoDB requests (cheap: each is a few milliseconds) restores that guarantee while
other services, SQS long polls above all, keep running concurrently.

moto 5.2.5 answers a Query on a table's own key by sorting every item of the table and keeping
the queried partition's; with DynamoDB serialised, one Query on a table of 20,000 items (the
load test's by its end) holds every other DynamoDB request for about 100 ms. Real DynamoDB reads
the partition only. So a Query on a table's own key is answered from the partition's items: the
same items in the same order, since moto's own filter keeps only that partition anyway.
"""

import sys
import threading

from moto import server
from moto.dynamodb.models.table import Table

_dynamodb = threading.Lock()


def _serialise_dynamodb(app):
    def serialised(environ, start_response):
        if environ.get("HTTP_X_AMZ_TARGET", "").startswith("DynamoDB"):
            with _dynamodb:
                # Drain the response inside the lock: the write happens while it is produced.
                return list(app(environ, start_response))
        return app(environ, start_response)

    return serialised


_dispatcher = server.DomainDispatcherApplication.__call__


def _dispatch(self, environ, start_response):
    return _serialise_dynamodb(lambda e, s: _dispatcher(self, e, s))(environ, start_response)


server.DomainDispatcherApplication.__call__ = _dispatch

_query = Table.query
_all_items = Table.all_items
_queried = threading.local()
# Table.query(self, hash_key, range_comparison, range_objs, limit, exclusive_start_key,
#             scan_index_forward, projection_expressions, index_name, ...)
_INDEX_NAME_ARG = 6


def _query_one_partition(self, hash_key, *args, **kwargs):
    index_name = args[_INDEX_NAME_ARG] if len(args) > _INDEX_NAME_ARG else kwargs.get("index_name")
    if index_name or hash_key is None or not self.range_key_attr:
        return _query(self, hash_key, *args, **kwargs)
    _queried.partition = hash_key
    try:
        return _query(self, hash_key, *args, **kwargs)
    finally:
        _queried.partition = None


def _items_of_queried_partition(self):
    partition = getattr(_queried, "partition", None)
    if partition is None:
        return _all_items(self)
    # .get: the table's defaultdict must not grow an empty partition.
    return sorted(self.items.get(partition, {}).values(), key=lambda item: item.range_key)


Table.query = _query_one_partition
Table.all_items = _items_of_queried_partition

if __name__ == "__main__":
    server.main(sys.argv[1:])
