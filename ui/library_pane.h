// The library pane: documents in corpus order (drop files, archives or folders here, or use Add…),
// each with kind, pages or files, tokens, warnings and ingest progress; reorder and remove; the
// corpus bar below.
#pragma once
#include <QWidget>

class QListView;
class QPushButton;

namespace m1::ui {

class LibraryModel;
class IngestQueue;
class CorpusBar;

class LibraryPane : public QWidget {
    Q_OBJECT
public:
    LibraryPane(LibraryModel* model, IngestQueue* ingest, QWidget* parent = nullptr);
    QListView* view() const { return m_view; }
    CorpusBar* corpusBar() const { return m_bar; }

public slots:
    void addFilesDialog();
    void addFolderDialog();
    void removeSelected();
    void moveSelected(int delta);

protected:
    void dragEnterEvent(QDragEnterEvent* e) override;
    void dropEvent(QDropEvent* e) override;

private:
    LibraryModel* m_model;
    IngestQueue* m_ingest;
    QListView* m_view;
    CorpusBar* m_bar;
};

}  // namespace m1::ui
