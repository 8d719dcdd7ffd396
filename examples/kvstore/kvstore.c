/* kvstore: a small key-value store kept in an append-only log file.
 *
 *   kvstore DBFILE < commands
 *
 * Commands, one per line on stdin:
 *   set KEY VALUE   -> OK          (VALUE is the rest of the line; may contain spaces)
 *   get KEY         -> the value, or (nil)
 *   del KEY         -> OK, or (nil) if KEY was not set
 *   list            -> every KEY VALUE, sorted by key, then END
 *   count           -> the number of keys
 * Keys are one word; keys and values are 1 to 255 bytes. Anything else prints ERR <reason>
 * and the next line is read. Blank lines are skipped. Exits 0 at end of input.
 *
 * On start it replays DBFILE, if it exists: lines `set KEY VALUE` and `del KEY`. Every set
 * and del that changes the store is appended to DBFILE with one write(2) (no fsync). Under
 * nmr-run each append is a vote, so a replica whose state went wrong is outvoted before its
 * write reaches the file.
 */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

enum { kMaxLen = 255, kLineMax = 1024 };

struct entry {
  char *key;
  char *value;
};

/* A sorted array: lookups by binary search, `list` is a walk. */
static struct entry *entries;
static size_t n_entries, cap_entries;

static size_t find(const char *key, int *found) {
  size_t lo = 0, hi = n_entries;
  while (lo < hi) {
    size_t mid = lo + (hi - lo) / 2;
    int cmp = strcmp(entries[mid].key, key);
    if (cmp == 0) {
      *found = 1;
      return mid;
    }
    if (cmp < 0) {
      lo = mid + 1;
    } else {
      hi = mid;
    }
  }
  *found = 0;
  return lo;
}

static char *dup_or_die(const char *s) {
  char *d = strdup(s);
  if (d == NULL) {
    perror("kvstore: strdup");
    exit(1);
  }
  return d;
}

static void store_set(const char *key, const char *value) {
  int found;
  size_t i = find(key, &found);
  if (found) {
    free(entries[i].value);
    entries[i].value = dup_or_die(value);
    return;
  }
  if (n_entries == cap_entries) {
    cap_entries = cap_entries ? 2 * cap_entries : 16;
    entries = realloc(entries, cap_entries * sizeof *entries);
    if (entries == NULL) {
      perror("kvstore: realloc");
      exit(1);
    }
  }
  memmove(&entries[i + 1], &entries[i], (n_entries - i) * sizeof *entries);
  entries[i].key = dup_or_die(key);
  entries[i].value = dup_or_die(value);
  n_entries++;
}

static int store_del(const char *key) {
  int found;
  size_t i = find(key, &found);
  if (!found) {
    return 0;
  }
  free(entries[i].key);
  free(entries[i].value);
  memmove(&entries[i], &entries[i + 1], (n_entries - i - 1) * sizeof *entries);
  n_entries--;
  return 1;
}

/* Splits `line` (no newline) into a command, a key and the rest. Returns an error message or
 * NULL. `rest` is the text after the key's single separating space, or NULL if none. */
static const char *parse(char *line, char **cmd, char **key, char **rest) {
  *cmd = line;
  *key = *rest = NULL;
  char *sp = strchr(line, ' ');
  if (sp == NULL) {
    return NULL;
  }
  *sp = '\0';
  *key = sp + 1;
  sp = strchr(*key, ' ');
  if (sp != NULL) {
    *sp = '\0';
    *rest = sp + 1;
  }
  if (**key == '\0') {
    return "empty key";
  }
  if (strlen(*key) > kMaxLen) {
    return "key longer than 255 bytes";
  }
  if (*rest != NULL && (**rest == '\0' || strlen(*rest) > kMaxLen)) {
    return **rest == '\0' ? "empty value" : "value longer than 255 bytes";
  }
  return NULL;
}

static void chomp(char *line) {
  size_t len = strlen(line);
  while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r')) {
    line[--len] = '\0';
  }
}

static void load(const char *path) {
  FILE *f = fopen(path, "r");
  if (f == NULL) {
    if (errno != ENOENT) {
      perror(path);
      exit(1);
    }
    return;
  }
  char line[kLineMax];
  unsigned lineno = 0;
  while (fgets(line, sizeof line, f) != NULL) {
    lineno++;
    chomp(line);
    char *cmd, *key, *rest;
    const char *err = parse(line, &cmd, &key, &rest);
    if (err == NULL && strcmp(cmd, "set") == 0 && key != NULL && rest != NULL) {
      store_set(key, rest);
    } else if (err == NULL && strcmp(cmd, "del") == 0 && key != NULL && rest == NULL) {
      store_del(key);
    } else {
      fprintf(stderr, "kvstore: %s:%u: bad record, skipped\n", path, lineno);
    }
  }
  fclose(f);
}

static void append(int fd, const char *cmd, const char *key, const char *value) {
  char rec[kLineMax];
  int len = value ? snprintf(rec, sizeof rec, "%s %s %s\n", cmd, key, value)
                  : snprintf(rec, sizeof rec, "%s %s\n", cmd, key);
  if (write(fd, rec, (size_t)len) != len) {
    perror("kvstore: write");
    exit(1);
  }
}

int main(int argc, char **argv) {
  if (argc != 2) {
    fprintf(stderr, "usage: kvstore DBFILE < commands\n");
    return 2;
  }
  load(argv[1]);
  int fd = open(argv[1], O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0) {
    perror(argv[1]);
    return 1;
  }
  char line[kLineMax];
  while (fgets(line, sizeof line, stdin) != NULL) {
    if (strchr(line, '\n') == NULL && !feof(stdin)) {
      int ch;
      while ((ch = getchar()) != EOF && ch != '\n') {
      }
      puts("ERR line too long");
      continue;
    }
    chomp(line);
    if (line[0] == '\0') {
      continue;
    }
    char *cmd, *key, *rest;
    const char *err = parse(line, &cmd, &key, &rest);
    if (err != NULL) {
      printf("ERR %s\n", err);
    } else if (strcmp(cmd, "set") == 0) {
      if (key == NULL || rest == NULL) {
        puts("ERR usage: set KEY VALUE");
      } else {
        store_set(key, rest);
        append(fd, "set", key, rest);
        puts("OK");
      }
    } else if (strcmp(cmd, "get") == 0 || strcmp(cmd, "del") == 0) {
      if (key == NULL || rest != NULL) {
        printf("ERR usage: %s KEY\n", cmd);
      } else if (cmd[0] == 'g') {
        int found;
        size_t i = find(key, &found);
        puts(found ? entries[i].value : "(nil)");
      } else if (store_del(key)) {
        append(fd, "del", key, NULL);
        puts("OK");
      } else {
        puts("(nil)");
      }
    } else if (strcmp(cmd, "list") == 0 || strcmp(cmd, "count") == 0) {
      if (key != NULL) {
        printf("ERR usage: %s\n", cmd);
      } else if (cmd[0] == 'c') {
        printf("%zu\n", n_entries);
      } else {
        for (size_t i = 0; i < n_entries; i++) {
          printf("%s %s\n", entries[i].key, entries[i].value);
        }
        puts("END");
      }
    } else {
      printf("ERR unknown command '%s'\n", cmd);
    }
  }
  close(fd);
  return fflush(stdout) == 0 ? 0 : 1;
}
