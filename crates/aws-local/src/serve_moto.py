"""moto_server with DynamoDB requests applied one at a time.

moto's threaded server checks a ConditionExpression and then writes without a lock, so two
concurrent conditional writes to one item can both succeed. Real DynamoDB applies each
conditional write atomically, and sirslack's leases, claims and idempotency markers rely on it.
Serialising DynamoDB requests (cheap: each is a few milliseconds) restores that guarantee while
other services, SQS long polls above all, keep running concurrently.
"""

import sys
import threading

from moto import server

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

if __name__ == "__main__":
    server.main(sys.argv[1:])
