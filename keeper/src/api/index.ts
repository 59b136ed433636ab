/** The keeper's HTTP API and WebSocket feed. See keeper/API.md. */
export { startApi, DEFAULT_API_LIMITS, type ApiLimits, type ApiOptions, type RunningApi } from "./server";
export { Feed, DEFAULT_FEED_LIMITS, SLOW_CONSUMER_CLOSE, type FeedLimits, type FeedOptions } from "./feed";
export { ApiError, STATUS_OF, type ApiErrorCode } from "./errors";
export { RateLimiter } from "./rateLimit";
