module bench.example/cold181

go 1.21
