/*
 * names.c - topics and enum labels of the contract (see names.h).
 */
#include "proto/names.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "proto/rpps.h"
#include "proto/status.h"

static int s_topic(char *out, size_t n, const char *head, const char *who, const char *area)
{
    int w = area ? snprintf(out, n, "%s%s.%s", head, who, area)
                 : snprintf(out, n, "%s%s.", head, who);
    return (w < 0 || (size_t)w >= n || (size_t)w > TOPIC_MAX) ? ES_TOO_LARGE : ES_OK;
}

int topic_patient(char *out, size_t n, const char *patient_id, const char *area)
{
    if (!id_hex_valid(patient_id))
        return ES_INVALID_ARGUMENT;
    return s_topic(out, n, TOPIC_PATIENT, patient_id, area);
}

int topic_pro(char *out, size_t n, const char *rpps, const char *area)
{
    if (rpps_validate(rpps) != 0)
        return ES_INVALID_ARGUMENT;
    return s_topic(out, n, TOPIC_PRO, rpps, area);
}

int topic_patient_id(const char *topic, char out[ID_HEX])
{
    size_t h = sizeof TOPIC_PATIENT - 1;
    if (!topic || strncmp(topic, TOPIC_PATIENT, h) != 0)
        return ES_INVALID_ARGUMENT;
    if (strnlen(topic + h, ID_HEX - 1) != ID_HEX - 1) /* before reading that far */
        return ES_INVALID_ARGUMENT;
    char id[ID_HEX];
    memcpy(id, topic + h, ID_HEX - 1);
    id[ID_HEX - 1] = '\0';
    if (!id_hex_valid(id) || (topic[h + ID_HEX - 1] != '.' && topic[h + ID_HEX - 1] != '\0'))
        return ES_INVALID_ARGUMENT;
    memcpy(out, id, ID_HEX);
    return ES_OK;
}

size_t topic_pro_head(const char *topic)
{
    size_t h = sizeof TOPIC_PRO - 1;
    if (!topic || strncmp(topic, TOPIC_PRO, h) != 0)
        return 0;
    for (size_t i = 0; i < RPPS_LEN; i++)
        if (topic[h + i] < '0' || topic[h + i] > '9')
            return 0;
    return topic[h + RPPS_LEN] == '.' ? h + RPPS_LEN + 1 : 0;
}

static int s_device_topic(char *out, size_t n, const char *head, const char *who,
                          const uint8_t device[ID_BYTES], const char *area)
{
    if (!device)
        return ES_INVALID_ARGUMENT;
    char hex[ID_HEX];
    id_hex(device, hex);
    int w = area ? snprintf(out, n, "%s%s.%s%s.%s", head, who, TOPIC_DEVICE, hex, area)
                 : snprintf(out, n, "%s%s.%s%s.", head, who, TOPIC_DEVICE, hex);
    return (w < 0 || (size_t)w >= n || (size_t)w > TOPIC_MAX) ? ES_TOO_LARGE : ES_OK;
}

int topic_patient_device(char *out, size_t n, const char *patient_id,
                         const uint8_t device[ID_BYTES], const char *area)
{
    if (!id_hex_valid(patient_id))
        return ES_INVALID_ARGUMENT;
    return s_device_topic(out, n, TOPIC_PATIENT, patient_id, device, area);
}

int topic_pro_device(char *out, size_t n, const char *rpps, const uint8_t device[ID_BYTES],
                     const char *area)
{
    if (rpps_validate(rpps) != 0)
        return ES_INVALID_ARGUMENT;
    return s_device_topic(out, n, TOPIC_PRO, rpps, device, area);
}

int topic_device_id(const char *topic, uint8_t device[ID_BYTES])
{
    char pid[ID_HEX];
    size_t head = 0;
    if (topic_patient_id(topic, pid) == 0)
        head = sizeof TOPIC_PATIENT - 1 + ID_HEX - 1;
    else if ((head = topic_pro_head(topic)) != 0)
        head--; /* at the '.' like the patient form */
    else
        return ES_INVALID_ARGUMENT;
    if (topic[head] != '.')
        return ES_NOT_FOUND;
    const char *rest = topic + head + 1;
    size_t dl = sizeof TOPIC_DEVICE - 1;
    if (strncmp(rest, TOPIC_DEVICE, dl) != 0)
        return ES_NOT_FOUND;
    rest += dl;
    char hex[ID_HEX];
    if (strnlen(rest, ID_HEX - 1) != ID_HEX - 1)
        return ES_INVALID_ARGUMENT;
    memcpy(hex, rest, ID_HEX - 1);
    hex[ID_HEX - 1] = '\0';
    if (rest[ID_HEX - 1] != '.' && rest[ID_HEX - 1] != '\0')
        return ES_INVALID_ARGUMENT;
    return id_parse(hex, device) == 0 ? ES_OK : ES_INVALID_ARGUMENT;
}

/* Length of the prefix shared by every value name of d ("AGENDA_KIND_"),
 * cut after its last '_'. */
static size_t s_prefix(const ProtobufCEnumDescriptor *d)
{
    if (d->n_values == 0)
        return 0;
    const char *first = d->values[0].name;
    size_t len = strlen(first);
    for (unsigned i = 1; i < d->n_values; i++) {
        const char *v = d->values[i].name;
        size_t k = 0;
        while (k < len && v[k] == first[k])
            k++;
        len = k;
    }
    while (len > 0 && first[len - 1] != '_')
        len--;
    return len;
}

const char *enum_label(const ProtobufCEnumDescriptor *d, int value, char *out, size_t n)
{
    const ProtobufCEnumValue *v = protobuf_c_enum_descriptor_get_value(d, value);
    if (!v)
        return "?";
    const char *s = v->name + s_prefix(d);
    size_t len = strlen(s);
    if (len + 1 > n)
        return "?";
    for (size_t i = 0; i <= len; i++) {
        char ch = s[i];
        out[i] = ch == '_' ? '-' : (ch >= 'A' && ch <= 'Z') ? (char)(ch - 'A' + 'a') : ch;
    }
    return out;
}

int enum_parse(const ProtobufCEnumDescriptor *d, const char *label, int *value)
{
    if (!label)
        return ES_INVALID_ARGUMENT;
    size_t p = s_prefix(d);
    for (unsigned i = 0; i < d->n_values; i++) {
        const char *name = d->values[i].name;
        char buf[ENUM_LABEL_MAX];
        if (strcasecmp(label, name) == 0 ||
            (strlen(name + p) < sizeof buf &&
             strcmp(label, enum_label(d, d->values[i].value, buf, sizeof buf)) == 0) ||
            strcasecmp(label, name + p) == 0) {
            *value = d->values[i].value;
            return ES_OK;
        }
    }
    return ES_INVALID_ARGUMENT;
}
