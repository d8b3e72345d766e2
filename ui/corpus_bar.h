// The corpus bar: the library's tokens against the budget (1,000,000 by default, less the output
// reserved for the answer), one segment per document, what does not fit, and the chosen policy.
#pragma once
#include <QWidget>

namespace m1::ui {

class LibraryModel;

class CorpusBar : public QWidget {
    Q_OBJECT
public:
    explicit CorpusBar(LibraryModel* model, QWidget* parent = nullptr);
    QSize sizeHint() const override { return {300, 44}; }
    QString summary() const;   // the line under the bar, also its tooltip

protected:
    void paintEvent(QPaintEvent*) override;

private:
    LibraryModel* m_model;
};

}  // namespace m1::ui
