module bench.example/cold265

go 1.21
