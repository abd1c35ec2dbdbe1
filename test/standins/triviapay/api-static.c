/* TEST STAND-IN, NOT THE PRODUCT.
 *
 * The TriviaPay API as its container runs on an instance, in one static arm64 binary so the test
 * image is one small layer: listens on $PORT, answers GET /health with 200 {"status":"healthy"}
 * (what the real FastAPI app answers) and anything else with its tag ($TRIVIAPAY_STANDIN_TAG),
 * and appends one line per request to $APP_LOG_PATH the way Python's WatchedFileHandler does:
 * before each write it compares the path's inode with the open file's and reopens when the file
 * was renamed away (logrotate), so a rotation is followed with no signal. Exits 0 on SIGTERM.
 */
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

static int log_fd = -1;
static ino_t log_ino;

static void log_line(const char *path, const char *line) {
  struct stat st;
  if (!path || !*path) return;
  if (log_fd >= 0 && (stat(path, &st) != 0 || st.st_ino != log_ino)) {
    close(log_fd);
    log_fd = -1;
  }
  if (log_fd < 0) {
    log_fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
    if (log_fd < 0 || fstat(log_fd, &st) != 0) {
      perror(path);
      return;
    }
    log_ino = st.st_ino;
  }
  if (write(log_fd, line, strlen(line)) < 0) perror(path);
}

static void stop(int sig) {
  (void)sig;
  _exit(0);
}

int main(void) {
  const char *port = getenv("PORT") ? getenv("PORT") : "8000";
  const char *tag = getenv("TRIVIAPAY_STANDIN_TAG") ? getenv("TRIVIAPAY_STANDIN_TAG") : "unknown";
  const char *log_path = getenv("APP_LOG_PATH");
  signal(SIGTERM, stop);
  signal(SIGINT, stop);
  signal(SIGPIPE, SIG_IGN);
  int s = socket(AF_INET, SOCK_STREAM, 0), one = 1;
  setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((unsigned short)atoi(port)), .sin_addr.s_addr = htonl(INADDR_ANY)};
  if (bind(s, (struct sockaddr *)&a, sizeof a) != 0 || listen(s, 16) != 0) {
    perror("listen");
    return 1;
  }
  fprintf(stderr, "triviapay stand-in %s listening on %s\n", tag, port);
  for (;;) {
    int c = accept(s, NULL, NULL);
    if (c < 0) continue;
    char req[2048] = {0}, body[256], out[512], line[300];
    ssize_t n = read(c, req, sizeof req - 1);
    int health = n > 0 && strncmp(req, "GET /health", 11) == 0 && (req[11] == ' ' || req[11] == '?');
    if (health) snprintf(body, sizeof body, "{\"status\":\"healthy\"}");
    else snprintf(body, sizeof body, "{\"tag\":\"%s\"}", tag);
    int len = snprintf(out, sizeof out, "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: %zu\r\nConnection: close\r\n\r\n%s", strlen(body), body);
    if (write(c, out, (size_t)len) < 0) perror("write");
    close(c);
    char *eol = strpbrk(req, "\r\n");
    if (eol) *eol = 0;
    snprintf(line, sizeof line, "%.60s %.200s\n", tag, req);
    log_line(log_path, line);
  }
}
