module bench.example/cold139

go 1.21
