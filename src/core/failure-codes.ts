/**
 * Every `CEIL_*` code Ceiling emits, with its class and what it means. CI
 * jobs and alert routes branch on these codes, so they are an interface:
 * StepFailure, diagnostics and gate findings accept only codes listed here
 * (a typo is a compile error), docs/failure-codes.md is generated from this
 * table (`npm run docs:codes`), and a unit test keeps table, source and
 * document in step.
 */

/**
 * The first eight are the classes of step failures (FailureClass in
 * src/journey/failure.ts); the rest say where a code that is not a step
 * failure comes from. Each says, for the generated document, what it means.
 */
export const CODE_CLASSES = {
  assertion: 'A check ran and the service answered something other than expected (a failure, not an error).',
  timeout: 'Something did not happen within its time limit.',
  connect: 'A connection could not be made or was lost.',
  dns: 'A host name did not resolve.',
  tls: 'A TLS handshake or certificate check failed.',
  protocol: 'The target answered in a way Ceiling cannot use, or something unexpected broke.',
  config: 'The journey, project config or command line asks for something invalid; fix the input.',
  interrupted: 'The run was stopped before the step could finish.',
  load: 'Journey files could not be found or read.',
  gate: 'A finding of `ceiling gate` or `ceiling drill` about a target as a whole.',
  history: 'The run history database of serve and gate cannot be used.',
  serve: 'The probe daemon (`ceiling serve`) itself.',
} as const;
export type CodeClass = keyof typeof CODE_CLASSES;

export interface FailureCodeEntry {
  class: CodeClass;
  /** One line: what happened, written for the person reading a report. */
  meaning: string;
}

export const FAILURE_CODES = {
  // Journey files: reading, shape and schema (diagnostics from `ceiling validate` and every load).
  CEIL_PATH_NOT_FOUND: { class: 'load', meaning: 'A path given on the command line does not exist.' },
  CEIL_FILE_UNREADABLE: { class: 'load', meaning: 'A journey file or folder cannot be read (permissions, or it vanished).' },
  CEIL_FILE_NOT_TEXT: { class: 'load', meaning: 'A journey file is not UTF-8 text.' },
  CEIL_FILE_TOO_BIG: { class: 'load', meaning: 'A journey file is larger than the load limit allows.' },
  CEIL_LIMIT_INVALID: { class: 'load', meaning: 'A load limit set in the environment is not a valid value.' },
  CEIL_JOURNEY_SHAPE: { class: 'config', meaning: 'A journey file is not a mapping with name and steps.' },
  CEIL_JOURNEY_DUPLICATE_NAME: { class: 'config', meaning: 'Two journeys in one run share a name.' },
  CEIL_NO_ASSERTION: { class: 'config', meaning: 'Warning: a journey checks nothing, so a run of it tests nothing.' },
  CEIL_SCHEMA_INVALID: { class: 'config', meaning: 'A journey value has the wrong type or form.' },
  CEIL_SCHEMA_MISSING: { class: 'config', meaning: 'A required journey field is missing.' },
  CEIL_SCHEMA_UNKNOWN_KEY: { class: 'config', meaning: 'A journey key is not known at that place.' },
  CEIL_STEP_SHAPE: { class: 'config', meaning: 'A step is not a mapping with one action key.' },
  CEIL_STEP_NO_ACTION: { class: 'config', meaning: 'A step has no action key.' },
  CEIL_STEP_MANY_ACTIONS: { class: 'config', meaning: 'A step has more than one action key.' },
  CEIL_STEP_UNKNOWN: { class: 'config', meaning: 'A step names an action that does not exist.' },
  CEIL_STEP_KEY_NOT_ALLOWED: { class: 'config', meaning: 'A step envelope key (expect, capture, retry …) does not apply to this action.' },
  CEIL_MATCHER_UNKNOWN: { class: 'config', meaning: 'An expectation uses an unknown or malformed matcher.' },
  CEIL_REGEX: { class: 'config', meaning: 'A regular expression in a journey does not compile.' },
  CEIL_TEMPLATE: { class: 'config', meaning: 'A template in a journey variable is malformed or refers to something undefined.' },
  CEIL_TEMPLATE_DURATION: {
    class: 'config',
    meaning: 'A templated duration (a step timeout, within, latency, wait) rendered to something that is not a duration with a unit.',
  },
  CEIL_SECRET_RAW_IN_URL: {
    class: 'config',
    meaning:
      'Warning: a secret is placed raw into a URL; a value holding & + # / or a space would be split or mangled (and the mangled part not redacted). Wrap it in urlEncode() or pass it with query:.',
  },
  CEIL_ACTOR_UNKNOWN: { class: 'config', meaning: 'A step uses an actor that no earlier step created.' },
  CEIL_ACTOR_KIND: { class: 'config', meaning: 'A step uses an actor of the wrong kind (a WebSocket client for a browser step, or the reverse).' },
  CEIL_UNTIL_NO_EXPECT: { class: 'config', meaning: 'An http step polls with until but has no expect to wait for.' },
  CEIL_WS_NO_MATCH: { class: 'config', meaning: 'A WebSocket expectation says neither json, text nor regex.' },
  CEIL_WS_NO_PAYLOAD: { class: 'config', meaning: 'ws.send has neither json nor text.' },
  CEIL_SCHEDULE_CRON: { class: 'config', meaning: 'A schedule cron expression is invalid.' },
  CEIL_SCHEDULE_NEVER: { class: 'config', meaning: 'A schedule cron expression never fires.' },
  CEIL_SCHEDULE_TIMEZONE: { class: 'config', meaning: 'A schedule names an unknown time zone.' },
  CEIL_SCHEDULE_TOO_OFTEN: { class: 'config', meaning: 'A schedule interval is shorter than one second.' },
  CEIL_SCHEDULE_JITTER: { class: 'config', meaning: 'A schedule jitter is not shorter than its interval.' },

  // Journey files: YAML syntax (one code per problem the yaml parser reports).
  CEIL_YAML_ALIAS_PROPS: { class: 'config', meaning: 'YAML: an alias carries an anchor or tag, which is not allowed.' },
  CEIL_YAML_BAD_ALIAS: { class: 'config', meaning: 'YAML: an alias is malformed or refers to no anchor.' },
  CEIL_YAML_BAD_DIRECTIVE: { class: 'config', meaning: 'YAML: a % directive is malformed.' },
  CEIL_YAML_BAD_DQ_ESCAPE: { class: 'config', meaning: 'YAML: a double-quoted string has an invalid escape.' },
  CEIL_YAML_BAD_INDENT: { class: 'config', meaning: 'YAML: indentation does not line up.' },
  CEIL_YAML_BAD_PROP_ORDER: { class: 'config', meaning: 'YAML: an anchor or tag is in the wrong place.' },
  CEIL_YAML_BAD_SCALAR_START: { class: 'config', meaning: 'YAML: a plain value starts with a reserved character; quote it.' },
  CEIL_YAML_BLOCK_AS_IMPLICIT_KEY: { class: 'config', meaning: 'YAML: a block collection is used as a key.' },
  CEIL_YAML_BLOCK_IN_FLOW: { class: 'config', meaning: 'YAML: a block collection sits inside a flow collection.' },
  CEIL_YAML_DUPLICATE_KEY: { class: 'config', meaning: 'YAML: a mapping has the same key twice.' },
  CEIL_YAML_IMPOSSIBLE: { class: 'config', meaning: 'YAML: the parser reached a state it considers impossible.' },
  CEIL_YAML_KEY_OVER_1024_CHARS: { class: 'config', meaning: 'YAML: an implicit key is longer than 1024 characters.' },
  CEIL_YAML_MISSING_CHAR: { class: 'config', meaning: 'YAML: a closing quote, bracket or other character is missing.' },
  CEIL_YAML_MULTILINE_IMPLICIT_KEY: { class: 'config', meaning: 'YAML: an implicit key spans lines.' },
  CEIL_YAML_MULTIPLE_ANCHORS: { class: 'config', meaning: 'YAML: a node has two anchors.' },
  CEIL_YAML_MULTIPLE_DOCS: { class: 'config', meaning: 'YAML: the file holds more than one document.' },
  CEIL_YAML_MULTIPLE_TAGS: { class: 'config', meaning: 'YAML: a node has two tags.' },
  CEIL_YAML_NON_STRING_KEY: { class: 'config', meaning: 'YAML: a mapping key is not a string.' },
  CEIL_YAML_RESOURCE_EXHAUSTION: { class: 'config', meaning: 'YAML: the parser stopped to avoid exhausting resources.' },
  CEIL_YAML_TAB_AS_INDENT: { class: 'config', meaning: 'YAML: a tab is used for indentation.' },
  CEIL_YAML_TAG_RESOLVE_FAILED: { class: 'config', meaning: 'YAML: a tag cannot be resolved.' },
  CEIL_YAML_UNEXPECTED_TOKEN: { class: 'config', meaning: 'YAML: a token appears where it cannot.' },
  CEIL_YAML_BAD_COLLECTION_TYPE: { class: 'config', meaning: 'YAML: a collection has the wrong type for its tag.' },
  CEIL_YAML_ALIAS_BUDGET: { class: 'config', meaning: 'YAML: aliases unfold to more values than the alias budget allows ("billion laughs").' },
  CEIL_YAML_ALIAS_CYCLE: { class: 'config', meaning: 'YAML: an alias refers to the node it sits in.' },

  // Step failures: flow steps, templates, captures, secrets.
  CEIL_ASSERT_EQUALS: { class: 'assertion', meaning: 'An assert step found a value other than the expected one.' },
  CEIL_ASSERT_MATCHES: { class: 'assertion', meaning: 'An assert step found a value its matcher rejects.' },
  CEIL_ASSERT_TRUTHY: { class: 'assertion', meaning: 'An assert step found a value that is not truthy.' },
  CEIL_TEMPLATE_SYNTAX: { class: 'config', meaning: 'A template cannot be parsed.' },
  CEIL_TEMPLATE_UNDEFINED: { class: 'config', meaning: 'A template refers to an undefined variable, capture or secret.' },
  CEIL_TEMPLATE_UNKNOWN_FUNCTION: { class: 'config', meaning: 'A template calls a function that does not exist.' },
  CEIL_TEMPLATE_FUNCTION: { class: 'config', meaning: 'A template function was called with arguments it rejects.' },
  CEIL_CAPTURE_SOURCE: { class: 'config', meaning: 'A capture names a source that the step cannot read.' },
  CEIL_CAPTURE_MISSING: { class: 'assertion', meaning: 'A capture found nothing to capture in the response, message or page.' },
  CEIL_SECRET_TOO_SHORT: { class: 'config', meaning: 'A secret is too short to be redacted safely.' },

  // Step failures: deadlines and the run itself.
  CEIL_TIMEOUT_STEP: { class: 'timeout', meaning: 'A step did not finish within its timeout.' },
  CEIL_TIMEOUT_JOURNEY: { class: 'timeout', meaning: 'A journey did not finish within its deadline.' },
  CEIL_TIMEOUT_FINALLY: { class: 'timeout', meaning: "A journey's finally (cleanup) steps did not finish within finallyTimeout." },
  CEIL_INTERRUPTED: { class: 'interrupted', meaning: 'The run was interrupted (a signal, or the run was stopped).' },
  CEIL_INTERNAL: { class: 'protocol', meaning: 'An unexpected error inside Ceiling; please report it.' },

  // Step failures: network (HTTP, WebSocket and browser alike).
  CEIL_DNS_LOOKUP: { class: 'dns', meaning: 'The host name does not resolve.' },
  CEIL_CONNECT_REFUSED: { class: 'connect', meaning: 'The target refused the connection.' },
  CEIL_CONNECT_RESET: { class: 'connect', meaning: 'The connection was reset or closed mid-request.' },
  CEIL_CONNECT_FAILED: { class: 'connect', meaning: 'The connection could not be made (unreachable host or network, connect timeout).' },
  CEIL_TLS_CERTIFICATE: { class: 'tls', meaning: 'The TLS certificate check failed.' },
  CEIL_PROTOCOL: { class: 'protocol', meaning: 'A request failed in a way that is not DNS, connect or TLS.' },

  // Step failures: HTTP.
  CEIL_HTTP_BAD_URL: { class: 'config', meaning: 'An http step URL is not absolute.' },
  CEIL_HTTP_AUTH_TWICE: { class: 'config', meaning: 'The URL carries credentials and the step sets an Authorization header too.' },
  CEIL_HTTP_STATUS: { class: 'assertion', meaning: 'The response status is not the expected one.' },
  CEIL_HTTP_HEADER: { class: 'assertion', meaning: 'A response header does not match its expectation.' },
  CEIL_HTTP_JSON: { class: 'assertion', meaning: 'The JSON body does not match its expectation.' },
  CEIL_HTTP_BODY: { class: 'assertion', meaning: 'The body does not contain, equal or match what is expected.' },
  CEIL_HTTP_LATENCY: { class: 'assertion', meaning: 'The response took longer than the latency limit.' },
  CEIL_HTTP_NOT_JSON: { class: 'protocol', meaning: 'A JSON body was expected and the response is not JSON.' },
  CEIL_HTTP_BAD_ENCODING: { class: 'protocol', meaning: 'The response uses a content-encoding Ceiling cannot decode, or a corrupt one.' },
  CEIL_HTTP_BODY_TOO_LARGE: { class: 'protocol', meaning: 'The response body is larger than the body cap.' },
  CEIL_HTTP_TOO_MANY_REDIRECTS: { class: 'protocol', meaning: 'The request was redirected more times than allowed.' },

  // Step failures: WebSocket.
  CEIL_WS_URL_INVALID: { class: 'config', meaning: 'A WebSocket URL cannot be opened.' },
  CEIL_WS_AUTOREPLY_SEND: { class: 'config', meaning: 'An auto-reply send needs exactly one of text or json.' },
  CEIL_WS_CLOSE_CODE_INVALID: { class: 'config', meaning: 'ws.close was given a close code the protocol does not allow.' },
  CEIL_ACTOR_CONNECTED: { class: 'config', meaning: 'ws.connect names an actor that is already connected.' },
  CEIL_WS_HANDSHAKE_TIMEOUT: { class: 'timeout', meaning: 'The WebSocket handshake got no answer in time.' },
  CEIL_WS_UPGRADE_REJECTED: { class: 'protocol', meaning: 'The server answered the WebSocket upgrade with an HTTP status.' },
  CEIL_WS_NOT_OPEN: { class: 'connect', meaning: 'A message could not be sent: the connection is not open.' },
  CEIL_WS_FLOOD: { class: 'protocol', meaning: 'The connection was dropped after more messages than the inbox holds.' },
  CEIL_WS_EXPECT_TIMEOUT: { class: 'assertion', meaning: 'No matching message arrived within the wait.' },
  CEIL_WS_CLOSED_WHILE_EXPECTING: { class: 'assertion', meaning: 'The connection closed before a matching message arrived.' },
  CEIL_WS_UNEXPECTED_MESSAGE: { class: 'assertion', meaning: 'A message that must not arrive did arrive.' },
  CEIL_WS_NOT_CLOSED: { class: 'assertion', meaning: 'The connection is still open when it was expected to close.' },
  CEIL_WS_CLOSE_CODE: { class: 'assertion', meaning: 'The connection closed with another close code than expected.' },

  // Step failures: browser.
  CEIL_BROWSER_NOT_FOUND: { class: 'config', meaning: 'No Chromium or Chrome was found for browser steps.' },
  CEIL_BROWSER_PATH_INVALID: { class: 'config', meaning: 'The browser named by --browser-path or CEILING_BROWSER_PATH cannot be used.' },
  CEIL_BROWSER_LAUNCH: { class: 'config', meaning: 'The browser was found but would not start.' },
  CEIL_BROWSER_URL_INVALID: { class: 'config', meaning: 'A browser step URL is not an http(s) URL.' },
  CEIL_BROWSER_UNSAFE_PORT: { class: 'config', meaning: 'Chromium refuses the port as unsafe.' },
  CEIL_BROWSER_KEY: { class: 'config', meaning: 'browser.press was given a key name the browser does not know.' },
  CEIL_BROWSER_SELECT: { class: 'config', meaning: 'browser.select needs exactly one of value or label.' },
  CEIL_BROWSER_WAIT_NOTHING: { class: 'config', meaning: 'browser.waitFor has neither a target nor a url.' },
  CEIL_BROWSER_TEXT_CRITERIA: { class: 'config', meaning: 'A text expectation needs exactly one of text, equals or regex.' },
  CEIL_BROWSER_URL_CRITERIA: { class: 'config', meaning: 'A URL expectation needs exactly one of url, contains or regex.' },
  CEIL_ACTOR_OPEN: { class: 'config', meaning: 'browser.open names an actor that already exists.' },
  CEIL_BROWSER_LOAD_TIMEOUT: { class: 'timeout', meaning: 'A page did not load, or did not reach its load event, in time.' },
  CEIL_BROWSER_TITLE_UNREAD: { class: 'timeout', meaning: 'The page title could not be read in time.' },
  CEIL_BROWSER_NET: { class: 'protocol', meaning: 'The browser failed to load the page (a net:: error).' },
  CEIL_BROWSER_CLOSED: { class: 'protocol', meaning: 'The page or browser is gone.' },
  CEIL_BROWSER_ERROR: { class: 'protocol', meaning: 'The browser failed in a way not classified otherwise.' },
  CEIL_BROWSER_NO_ELEMENT: { class: 'assertion', meaning: 'No element matches the target within the wait.' },
  CEIL_BROWSER_AMBIGUOUS: { class: 'assertion', meaning: 'The target matches several elements where the step needs one.' },
  CEIL_BROWSER_NOT_VISIBLE: { class: 'assertion', meaning: 'The element did not become visible.' },
  CEIL_BROWSER_STILL_VISIBLE: { class: 'assertion', meaning: 'The element is still visible when it should be hidden.' },
  CEIL_BROWSER_STILL_ATTACHED: { class: 'assertion', meaning: 'The element is still on the page when it should be gone.' },
  CEIL_BROWSER_NOT_ACTIONABLE: { class: 'assertion', meaning: 'The element is on the page but could not be clicked, filled or used.' },
  CEIL_BROWSER_ACTION: { class: 'assertion', meaning: 'A browser action on the element failed.' },
  CEIL_BROWSER_TEXT: { class: 'assertion', meaning: 'The element text does not match the expectation.' },
  CEIL_BROWSER_TITLE: { class: 'assertion', meaning: 'The page title does not match the expectation.' },
  CEIL_BROWSER_URL: { class: 'assertion', meaning: 'The page URL does not match the expectation.' },

  // Reporters named on the command line or in the project config.
  CEIL_REPORTER_UNKNOWN: { class: 'config', meaning: 'A reporter name is not known.' },
  CEIL_REPORTER_PATH: { class: 'config', meaning: 'A reporter is given a path it does not take, or an empty one after "=".' },

  // Project config (ceiling.yaml) for gate, drill and serve.
  CEIL_CONFIG_NOT_FOUND: { class: 'config', meaning: 'The project config file does not exist.' },
  CEIL_CONFIG_UNREADABLE: { class: 'config', meaning: 'The project config file cannot be read.' },
  CEIL_CONFIG_SHAPE: { class: 'config', meaning: 'The project config is not a mapping.' },
  CEIL_CONFIG_NO_TARGETS: { class: 'config', meaning: 'The project config declares no targets.' },
  CEIL_CONFIG_TARGET_NAME: { class: 'config', meaning: 'A target name has characters that are not allowed.' },
  CEIL_CONFIG_INVALID_KEY: { class: 'config', meaning: 'A project config key is not allowed there.' },
  CEIL_CONFIG_INVALID: { class: 'config', meaning: 'A project config value has the wrong type or form.' },
  CEIL_CONFIG_MISSING: { class: 'config', meaning: 'A required project config field is missing.' },
  CEIL_CONFIG_UNKNOWN_KEY: { class: 'config', meaning: 'A project config key is not known at that place.' },
  CEIL_CONFIG_TEMPLATE: { class: 'config', meaning: 'A template in the project config is malformed.' },
  CEIL_CONFIG_URL: { class: 'config', meaning: 'A version URL in the project config is not http or https.' },
  CEIL_CONFIG_UNDEFINED_VAR: { class: 'config', meaning: 'A target does not set a variable its version URL uses.' },
  CEIL_CONFIG_REPORTER: { class: 'config', meaning: 'A reporter in the project config is invalid.' },

  // Project config: YAML syntax (the same problems as in journey files).
  CEIL_CONFIG_YAML_ALIAS_PROPS: { class: 'config', meaning: 'Config YAML: an alias carries an anchor or tag, which is not allowed.' },
  CEIL_CONFIG_YAML_BAD_ALIAS: { class: 'config', meaning: 'Config YAML: an alias is malformed or refers to no anchor.' },
  CEIL_CONFIG_YAML_BAD_DIRECTIVE: { class: 'config', meaning: 'Config YAML: a % directive is malformed.' },
  CEIL_CONFIG_YAML_BAD_DQ_ESCAPE: { class: 'config', meaning: 'Config YAML: a double-quoted string has an invalid escape.' },
  CEIL_CONFIG_YAML_BAD_INDENT: { class: 'config', meaning: 'Config YAML: indentation does not line up.' },
  CEIL_CONFIG_YAML_BAD_PROP_ORDER: { class: 'config', meaning: 'Config YAML: an anchor or tag is in the wrong place.' },
  CEIL_CONFIG_YAML_BAD_SCALAR_START: { class: 'config', meaning: 'Config YAML: a plain value starts with a reserved character; quote it.' },
  CEIL_CONFIG_YAML_BLOCK_AS_IMPLICIT_KEY: { class: 'config', meaning: 'Config YAML: a block collection is used as a key.' },
  CEIL_CONFIG_YAML_BLOCK_IN_FLOW: { class: 'config', meaning: 'Config YAML: a block collection sits inside a flow collection.' },
  CEIL_CONFIG_YAML_DUPLICATE_KEY: { class: 'config', meaning: 'Config YAML: a mapping has the same key twice.' },
  CEIL_CONFIG_YAML_IMPOSSIBLE: { class: 'config', meaning: 'Config YAML: the parser reached a state it considers impossible.' },
  CEIL_CONFIG_YAML_KEY_OVER_1024_CHARS: { class: 'config', meaning: 'Config YAML: an implicit key is longer than 1024 characters.' },
  CEIL_CONFIG_YAML_MISSING_CHAR: { class: 'config', meaning: 'Config YAML: a closing quote, bracket or other character is missing.' },
  CEIL_CONFIG_YAML_MULTILINE_IMPLICIT_KEY: { class: 'config', meaning: 'Config YAML: an implicit key spans lines.' },
  CEIL_CONFIG_YAML_MULTIPLE_ANCHORS: { class: 'config', meaning: 'Config YAML: a node has two anchors.' },
  CEIL_CONFIG_YAML_MULTIPLE_DOCS: { class: 'config', meaning: 'Config YAML: the file holds more than one document.' },
  CEIL_CONFIG_YAML_MULTIPLE_TAGS: { class: 'config', meaning: 'Config YAML: a node has two tags.' },
  CEIL_CONFIG_YAML_NON_STRING_KEY: { class: 'config', meaning: 'Config YAML: a mapping key is not a string.' },
  CEIL_CONFIG_YAML_RESOURCE_EXHAUSTION: { class: 'config', meaning: 'Config YAML: the parser stopped to avoid exhausting resources.' },
  CEIL_CONFIG_YAML_TAB_AS_INDENT: { class: 'config', meaning: 'Config YAML: a tab is used for indentation.' },
  CEIL_CONFIG_YAML_TAG_RESOLVE_FAILED: { class: 'config', meaning: 'Config YAML: a tag cannot be resolved.' },
  CEIL_CONFIG_YAML_UNEXPECTED_TOKEN: { class: 'config', meaning: 'Config YAML: a token appears where it cannot.' },
  CEIL_CONFIG_YAML_BAD_COLLECTION_TYPE: { class: 'config', meaning: 'Config YAML: a collection has the wrong type for its tag.' },
  CEIL_CONFIG_YAML_ALIAS_BUDGET: { class: 'config', meaning: 'Config YAML: aliases unfold to more values than the alias budget allows.' },
  CEIL_CONFIG_YAML_ALIAS_CYCLE: { class: 'config', meaning: 'Config YAML: an alias refers to the node it sits in.' },

  // Gate and drill findings.
  CEIL_DISCOVERY_FLEET_SHORT: { class: 'gate', meaning: 'A discovered target group has fewer instances than its expect count or min.' },
  CEIL_DISCOVERY_FLEET_EXCESS: { class: 'gate', meaning: 'A discovered target group has more instances than its expect count.' },
  CEIL_DISCOVERY_NOT_FOUND: { class: 'gate', meaning: 'A discovery name has no records of the kind asked for, or an SRV host has no address (inconclusive).' },
  CEIL_DISCOVERY_EMPTY: { class: 'gate', meaning: 'Discovery answered with no instance at all (inconclusive).' },
  CEIL_DISCOVERY_DNS_TIMEOUT: { class: 'gate', meaning: 'The DNS server did not answer within the discovery timeout (inconclusive).' },
  CEIL_DISCOVERY_DNS_ERROR: { class: 'gate', meaning: 'The DNS server answered a discovery query with an error such as SERVFAIL or REFUSED (inconclusive).' },
  CEIL_DISCOVERY_COMMAND_FAILED: { class: 'gate', meaning: 'A discovery command could not start or exited non-zero (inconclusive).' },
  CEIL_DISCOVERY_COMMAND_TIMEOUT: { class: 'gate', meaning: 'A discovery command ran past its timeout and was killed with its children (inconclusive).' },
  CEIL_DISCOVERY_COMMAND_OUTPUT: { class: 'gate', meaning: 'A discovery command printed something other than the documented JSON list (inconclusive).' },
  CEIL_FAILED: { class: 'gate', meaning: 'A journey failed without a more specific code (fallback in gate findings and serve alerts).' },
  CEIL_GATE_FLAKY: { class: 'gate', meaning: 'A journey passed only after retries.' },
  CEIL_GATE_VERSION: { class: 'gate', meaning: 'A target runs another version than the one expected.' },
  CEIL_GATE_VERSION_URL: { class: 'gate', meaning: 'The version URL cannot be built for a target.' },
  CEIL_GATE_VERSION_STATUS: { class: 'gate', meaning: 'The version endpoint answered a non-2xx status.' },
  CEIL_GATE_VERSION_MISSING: { class: 'gate', meaning: 'The version endpoint answered without a version string.' },
  CEIL_GATE_VERSION_NOT_JSON: { class: 'gate', meaning: 'The version endpoint did not answer JSON where a JSON path was configured.' },
  CEIL_GATE_VERSION_TIMEOUT: { class: 'gate', meaning: 'The version endpoint did not answer in time.' },
  CEIL_GATE_LATENCY: { class: 'gate', meaning: 'A step is significantly slower than its baseline.' },
  CEIL_GATE_BASELINE: { class: 'gate', meaning: 'The latency baseline cannot be read or written.' },
  CEIL_GATE_INFRASTRUCTURE: { class: 'gate', meaning: 'Every check on every target failed at DNS: the runner, not the release, is broken.' },
  CEIL_GATE_RUNNER_STALLED: { class: 'gate', meaning: "Ceiling's own event loop stalled, so a round's results say nothing about the target." },
  CEIL_GATE_ROLLBACK_FAILED: { class: 'gate', meaning: 'The rollback command failed.' },
  CEIL_GATE_NOT_RECOVERED: { class: 'gate', meaning: 'The target did not recover after the rollback.' },
  CEIL_GATE_PUSHGATEWAY: { class: 'gate', meaning: 'The verdict could not be pushed to the Pushgateway.' },

  // Serve daemon and run history.
  CEIL_WATCHDOG: { class: 'serve', meaning: 'A probe run did not end at its deadline and was stopped by the watchdog.' },
  CEIL_WEBHOOK_URL: { class: 'serve', meaning: 'A webhook URL is not absolute, or not http or https.' },
  CEIL_HISTORY_OPTIONS: { class: 'history', meaning: 'A history retention option is out of range.' },
  CEIL_HISTORY_NOT_A_DATABASE: { class: 'history', meaning: 'The history file is not a Ceiling SQLite database.' },
  CEIL_HISTORY_NEWER_SCHEMA: { class: 'history', meaning: 'The history database was written by a newer Ceiling.' },
  CEIL_HISTORY_LOCKED: { class: 'history', meaning: 'Another process holds the history database.' },
  CEIL_HISTORY_NO_ACCESS: { class: 'history', meaning: 'The history database or its lock file cannot be created or written.' },
  CEIL_HISTORY_OPEN: { class: 'history', meaning: 'The history database cannot be opened.' },
  CEIL_HISTORY_CORRUPT: { class: 'history', meaning: 'The history database is corrupt.' },
} as const satisfies Record<`CEIL_${string}`, FailureCodeEntry>;

export type FailureCode = keyof typeof FAILURE_CODES;

/** Names a subset of codes, e.g. one module's error codes; a code missing from the table fails to compile. */
export type CodeSubset<Codes extends FailureCode> = Codes;

export const isFailureCode = (code: string): code is FailureCode => Object.hasOwn(FAILURE_CODES, code);
